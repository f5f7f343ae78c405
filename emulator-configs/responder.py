#!/usr/bin/python3
# fabric-lab emulator: the TCP responder of every pod on one node, in ONE process.
#
# For each pod it enters the pod's network namespace (setns), opens the listening
# sockets there, and comes back: a socket stays in the namespace it was created in, so
# one event loop serves all the node's pods. Each connection is answered with one line,
# "<name> <client address>", the pod's name (so a request to a Service shows which
# endpoint answered) and the source address it saw (so SNAT is visible). A client that
# sends an HTTP request (curl) gets the same line as an HTTP/1.0 response; a client that
# sends a line or nothing (nc, the lab's prober) gets it plain.
#
# usage: responder.py CONFIG.json
#   {"ready": "/path/written/once/listening",
#    "listeners": [{"name": "nginx-...", "netns": "/var/run/netns/fl-lab-nginx-...", "ports": [80]}]}
import ctypes
import json
import os
import selectors
import socket
import sys
import time

CLONE_NEWNET = 0x40000000
# Wait this long for a request line before answering plainly (nc, or a bare connect).
WAIT_S = 0.2
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def listen_in(netns, ports):
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    target = os.open(netns, os.O_RDONLY)
    try:
        setns(target)
        socks = []
        for port in ports:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('0.0.0.0', port))
            s.listen(128)
            s.setblocking(False)
            socks.append(s)
        return socks
    finally:
        setns(home)
        os.close(target)
        os.close(home)


def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    sel = selectors.DefaultSelector()
    for l in config['listeners']:
        for s in listen_in(l['netns'], l['ports']):
            sel.register(s, selectors.EVENT_READ, ('listen', l['name']))
    with open(config['ready'] + '.tmp', 'w') as f:
        f.write(str(os.getpid()) + '\n')
    os.rename(config['ready'] + '.tmp', config['ready'])

    pending = {}  # connection -> (name, peer, deadline)

    def answer(conn, data):
        name, peer, _ = pending.pop(conn)
        sel.unregister(conn)
        line = '%s %s\n' % (name, peer)
        if data[:4] in (b'GET ', b'HEAD', b'POST', b'PUT '):
            body = line.encode()
            msg = b'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' % len(body) + body
        else:
            msg = line.encode()
        try:
            conn.setblocking(True)
            conn.settimeout(1)
            conn.sendall(msg)
        except OSError:
            pass
        conn.close()

    while True:
        timeout = None
        if pending:
            timeout = max(0, min(d for _, _, d in pending.values()) - time.monotonic())
        for key, _ in sel.select(timeout):
            kind, name = key.data
            if kind == 'listen':
                try:
                    conn, addr = key.fileobj.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                pending[conn] = (name, addr[0], time.monotonic() + WAIT_S)
                sel.register(conn, selectors.EVENT_READ, ('conn', name))
            else:
                conn = key.fileobj
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b''
                answer(conn, data)
        now = time.monotonic()
        for conn in [c for c, (_, _, d) in pending.items() if d <= now]:
            answer(conn, b'')


if __name__ == '__main__':
    main()
