#!/usr/bin/python3
# fabric-lab: TCP probes from one pod (run inside its network namespace by `lab policy
# matrix` and verify). Connects to every target at once (at most 64 in flight), each
# bounded by the timeout; prints one JSON line per target:
#   {"target": "10.64.0.5:80", "ok": true, "answer": "<name> <client ip>"}
#   {"target": "10.64.0.6:80", "ok": false, "error": "timeout" | "refused" | "..."}
# usage: probe.py TIMEOUT_S IP:PORT...
import errno
import json
import selectors
import socket
import sys
import time

timeout = float(sys.argv[1])
targets = sys.argv[2:]
sel = selectors.DefaultSelector()
queue = list(enumerate(targets))
live = {}  # socket -> [index, deadline, stage, buffer]
results = {}  # index -> result (a target may be listed several times)


def start(item):
    i, t = item
    ip, port = t.rsplit(':', 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    err = s.connect_ex((ip, int(port)))
    if err not in (0, errno.EINPROGRESS):
        results[i] = {'target': t, 'ok': False, 'error': errno.errorcode.get(err, str(err))}
        s.close()
        return
    live[s] = [i, time.monotonic() + timeout, 'connect', b'']
    sel.register(s, selectors.EVENT_WRITE)


def finish(s, result):
    results[live[s][0]] = result
    del live[s]
    sel.unregister(s)
    s.close()


while queue or live:
    while queue and len(live) < 64:
        start(queue.pop(0))
    if not live:
        continue
    wait = max(0, min(v[1] for v in live.values()) - time.monotonic())
    for key, _ in sel.select(wait):
        s = key.fileobj
        i, deadline, stage, buf = live[s]
        t = targets[i]
        if stage == 'connect':
            err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                finish(s, {'target': t, 'ok': False, 'error': 'refused' if err == errno.ECONNREFUSED else errno.errorcode.get(err, str(err))})
                continue
            try:
                s.send(b'\n')
            except OSError:
                pass
            live[s][2] = 'read'
            sel.modify(s, selectors.EVENT_READ)
        else:
            try:
                data = s.recv(4096)
            except OSError as e:
                finish(s, {'target': t, 'ok': False, 'error': 'reset' if e.errno == errno.ECONNRESET else str(e)})
                continue
            if data:
                live[s][3] = buf + data
            if not data or b'\n' in live[s][3]:
                answer = live[s][3].decode(errors='replace').strip()
                finish(s, {'target': t, 'ok': bool(answer), **({'answer': answer} if answer else {'error': 'closed without an answer'})})
    now = time.monotonic()
    for s in [s for s, v in live.items() if v[1] <= now]:
        finish(s, {'target': targets[live[s][0]], 'ok': False, 'error': 'timeout' if live[s][2] == 'connect' else 'no answer'})

for i in range(len(targets)):
    print(json.dumps(results[i]))
