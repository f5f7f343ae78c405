#!/usr/bin/python3
# fabric-lab emulator: runs the observers' commands for one CLI process, in the network
# namespace each request names, without a process in between.
#
# The observers ask every device for a few commands per round (`ip -j route`, vtysh,
# birdc...). Run as `nsenter --net=NS sh -c SCRIPT` that is two more programs per device
# and round than the commands themselves (3.6 ms of CPU together, 2,600 of them in one
# `lab up` of dc-256 with its verify): here a long-lived process enters the namespace
# itself (setns) and starts each command directly.
#
# Requests on stdin, one JSON line each: {"id": N, "ns": "/var/run/netns/X" or null,
# "cmds": [[argv...], ...], "inputs": [text or null, ...], "stopOnFailure": bool}; ns
# null: the namespace this process started in. Commands run one after the other, each
# with its input on stdin (else /dev/null); with stopOnFailure, those after a failed one
# do not run (exit code -1). Replies on stdout, streamed so that a request stopped part
# way (the CLI kills this process's group past its time limit) still has what its
# commands printed:
#   @O ID I LEN\n<bytes>   stdout of command I        @X ID I LEN\n<bytes>   its stderr
#   @C ID I CODE\n         command I ended (128+N: killed by signal N; 127: not found)
#   @E ID\n                the request is done
# A namespace that cannot be entered ends each command with code -1 and the reason.
#
# Three commands are answered here, without starting a program (src/providers/emulator/
# builtins.ts decides which observer commands become them; `lab exec` never does):
#   ["@vty", RUNDIR, DAEMON, COMMAND, DAEMON, COMMAND...]: what `vtysh -N NS -c COMMAND...`
#     prints, asked of each daemon's vty socket (RUNDIR/DAEMON.vty) as vtysh asks it. A
#     vtysh start costs ~36 ms of CPU (it builds FRR's whole command tree), the socket
#     0.04 ms. As vtysh: a daemon that is not running ends it, "DAEMON is not running" on
#     stderr, exit 1; a command the daemon refuses gives exit 1.
#   ["@ping", COUNT, INTERVAL_S, WAIT_S, IP]: what `ping -c COUNT -i INTERVAL -W WAIT -n IP`
#     prints (one line per echo reply with its TTL, the "N packets transmitted, M
#     received" summary) and its exit code: 0 with a reply, 1 without, 2 when it could
#     not send. A raw ICMP socket in the namespace; ~2.7 ms of CPU less than a ping.
#   ["@links"]: the namespace's interfaces as `ip -j link show` prints them, with the
#     fields the observers read: ifindex, ifname, flags (ip's names, in ip's order), mtu,
#     from one netlink dump (RTM_GETLINK); ~2.6 ms of CPU less than an `ip`.
import ctypes
import json
import os
import select
import signal
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
out = sys.stdout.buffer


def setns_fd(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        setns_fd(fd)
    finally:
        os.close(fd)


def frame(kind, rid, i, data):
    out.write(b'@%s %d %d %d\n' % (kind, rid, i, len(data)))
    out.write(data)
    out.flush()


def run(rid, i, argv, data=None):
    # posix_spawn (vfork and exec) with pipes: 0.2 ms over the command's own cost, where
    # subprocess.Popen added 0.65 ms. `data`: bytes for its stdin (else /dev/null), written
    # while its output is read (an input larger than a pipe must not block either side).
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r = in_w = None
    actions = [(os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0)]
    if data is not None:
        in_r, in_w = os.pipe()
        actions = [(os.POSIX_SPAWN_DUP2, in_r, 0)]
    try:
        # setsigdef: Python ignores SIGPIPE and SIGXFSZ; the command gets the defaults back.
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions + [
            (os.POSIX_SPAWN_DUP2, out_w, 1),
            (os.POSIX_SPAWN_DUP2, err_w, 2),
        ], setsigdef=(signal.SIGPIPE, signal.SIGXFSZ))
    except OSError as e:
        for fd in (out_r, out_w, err_r, err_w, in_r, in_w):
            if fd is not None:
                os.close(fd)
        # What a shell says and returns for a command it cannot start.
        frame(b'X', rid, i, ('%s: %s\n' % (argv[0], e.strerror)).encode())
        return 127 if isinstance(e, FileNotFoundError) else 126
    for fd in (out_w, err_w, in_r):
        if fd is not None:
            os.close(fd)
    kinds = {out_r: b'O', err_r: b'X'}
    poll = select.poll()
    for fd in kinds:
        poll.register(fd, select.POLLIN)
    left = memoryview(data) if data is not None else None
    if in_w is not None:
        if len(left):
            os.set_blocking(in_w, False)
            poll.register(in_w, select.POLLOUT)
        else:
            os.close(in_w)
            in_w = None
    while kinds or in_w is not None:
        for fd, ev in poll.poll():
            if fd == in_w:
                try:
                    n = os.write(in_w, left[:1 << 16])
                    left = left[n:]
                except BlockingIOError:
                    continue
                except BrokenPipeError:
                    left = left[:0]  # it stopped reading: what it printed says why
                if not len(left):
                    poll.unregister(in_w)
                    os.close(in_w)
                    in_w = None
                continue
            chunk = os.read(fd, 1 << 16)
            if chunk:
                frame(kinds[fd], rid, i, chunk)
            else:
                poll.unregister(fd)
                os.close(fd)
                del kinds[fd]
    _, status = os.waitpid(pid, 0)
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def vty(rundir, pairs):
    stdout = []
    for daemon, command in zip(pairs[0::2], pairs[1::2]):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            try:
                s.connect(os.path.join(rundir, daemon + '.vty'))
            except OSError:
                return b''.join(stdout), b'%s is not running\n' % daemon.encode(), 1
            # A command is its text and a NUL; the answer, its output then three NULs
            # and the command's status (0: success).
            s.sendall(command.encode() + b'\0')
            got = bytearray()
            while len(got) < 4 or got[-4:-1] != b'\0\0\0':
                chunk = s.recv(1 << 16)
                if not chunk:
                    return b''.join(stdout) + bytes(got), b'%s closed the connection\n' % daemon.encode(), 1
                got += chunk
        finally:
            s.close()
        stdout.append(bytes(got[:-4]))
        if got[-1] != 0:
            return b''.join(stdout), b'', 1
    return b''.join(stdout), b'', 0


def checksum(b):
    if len(b) % 2:
        b += b'\0'
    n = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    n = (n >> 16) + (n & 0xffff)
    n += n >> 16
    return ~n & 0xffff


ping_seq = [0]


def ping(count, interval, wait, ip):
    count, interval, wait = int(count), float(interval), float(wait)
    ping_seq[0] += 1
    ident = (os.getpid() * 31 + ping_seq[0]) & 0xffff
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    try:
        # Only echo replies reach this socket (SOL_RAW 255, ICMP_FILTER 1: a mask of the types to drop).
        s.setsockopt(255, 1, struct.pack('I', 0xffffffff & ~1))
        sent_at, lines, received, answered = {}, [], 0, set()
        payload = bytes(range(56))
        for seq in range(1, count + 1):
            head = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
            packet = struct.pack('!BBHHH', 8, 0, checksum(head + payload), ident, seq) + payload
            try:
                s.sendto(packet, (ip, 0))
            except OSError as e:
                return b'', b'ping: sendmsg: %s\n' % (e.strerror or str(e)).encode(), 2
            sent_at[seq] = time.monotonic()
            until = sent_at[seq] + (interval if seq < count else wait)
            while received < count:
                left = until - time.monotonic()
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                data, (src, _) = s.recvfrom(4096)
                ihl = (data[0] & 0x0f) * 4
                if src != ip or len(data) < ihl + 8:
                    continue
                kind, _, _, rid, rseq = struct.unpack('!BBHHH', data[ihl:ihl + 8])
                # ping counts a duplicate reply apart ("DUP!"), never as received.
                if kind != 0 or rid != ident or rseq not in sent_at or rseq in answered:
                    continue
                answered.add(rseq)
                received += 1
                ms = (time.monotonic() - sent_at[rseq]) * 1000
                lines.append('%d bytes from %s: icmp_seq=%d ttl=%d time=%.3f ms' % (len(data) - ihl, ip, rseq, data[8], ms))
        loss = 100 * (count - received) // count
        took = (time.monotonic() - sent_at[1]) * 1000
        lines = ['PING %s (%s) 56(84) bytes of data.' % (ip, ip)] + lines + ['', '--- %s ping statistics ---' % ip,
                 '%d packets transmitted, %d received, %d%% packet loss, time %dms' % (count, received, loss, took)]
        return ('\n'.join(lines) + '\n').encode(), b'', 0 if received else 1
    finally:
        s.close()


# ip's names for the interface flags, in the order it prints them.
IFF = [('LOOPBACK', 0x8), ('BROADCAST', 0x2), ('POINTOPOINT', 0x10), ('MULTICAST', 0x1000), ('NOARP', 0x80),
       ('ALLMULTI', 0x200), ('PROMISC', 0x100), ('NOTRAILERS', 0x20), ('DEBUG', 0x4), ('DYNAMIC', 0x8000),
       ('AUTOMEDIA', 0x4000), ('PORTSEL', 0x2000), ('SLAVE', 0x800), ('MASTER', 0x400), ('UP', 0x1),
       ('LOWER_UP', 0x10000), ('DORMANT', 0x20000), ('ECHO', 0x40000)]
NLMSG_ERROR, NLMSG_DONE, RTM_NEWLINK, RTM_GETLINK = 2, 3, 16, 18
IFLA_IFNAME, IFLA_MTU = 3, 4


def links():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)  # NETLINK_ROUTE
    try:
        s.bind((0, 0))
        # nlmsghdr (request, dump) + ifinfomsg (any family)
        s.send(struct.pack('=LHHLL', 32, RTM_GETLINK, 0x301, 1, 0) + struct.pack('=BxHiII', 0, 0, 0, 0, 0))
        rows = []
        while True:
            data = s.recv(1 << 20)
            off = 0
            while off + 16 <= len(data):
                size, kind = struct.unpack_from('=LH', data, off)
                if kind == NLMSG_DONE:
                    return (json.dumps(rows, separators=(',', ':')) + '\n').encode(), b'', 0
                if kind == NLMSG_ERROR:
                    err = -struct.unpack_from('=i', data, off + 16)[0]
                    return b'', b'@links: %s\n' % os.strerror(err).encode(), 2
                if kind == RTM_NEWLINK:
                    _, index, flags, _ = struct.unpack_from('=HiII', data, off + 18)
                    row = {'ifindex': index}
                    a, end = off + 32, off + size
                    while a + 4 <= end:
                        alen, atype = struct.unpack_from('=HH', data, a)
                        if alen < 4:
                            break
                        if atype == IFLA_IFNAME:
                            row['ifname'] = data[a + 4:a + alen].split(b'\0')[0].decode()
                        elif atype == IFLA_MTU:
                            row['mtu'] = struct.unpack_from('=I', data, a + 4)[0]
                        a += (alen + 3) & ~3
                    names = ['NO-CARRIER'] if flags & 0x1 and not flags & 0x40 else []
                    row['flags'] = names + [n for n, bit in IFF if flags & bit]
                    rows.append({k: row[k] for k in ('ifindex', 'ifname', 'flags', 'mtu') if k in row})
                off += (size + 3) & ~3
    finally:
        s.close()


BUILTINS = {'@links': lambda a: links(), '@vty': lambda a: vty(a[0], a[1:]), '@ping': lambda a: ping(*a)}


def builtin(rid, i, argv):
    try:
        stdout, stderr, code = BUILTINS[argv[0]](argv[1:])
    except Exception as e:  # the helper could not look (not the lab's fault): -1, unknown to the checks
        stdout, stderr, code = b'', ('%s: %s\n' % (argv[0], e)).encode(), -1
    if stdout:
        frame(b'O', rid, i, stdout)
    if stderr:
        frame(b'X', rid, i, stderr)
    return code


def main():
    home = os.open('/proc/self/ns/net', os.O_RDONLY)  # where a request naming none runs
    current = None
    for line in sys.stdin.buffer:
        req = json.loads(line)
        rid, ns, cmds = req['id'], req.get('ns'), req['cmds']
        inputs = req.get('inputs') or [None] * len(cmds)
        stop = req.get('stopOnFailure', False)
        failed = None
        if ns != current:
            try:
                setns(ns) if ns else setns_fd(home)
                current = ns
            except OSError as e:
                failed = 'cannot enter %s: %s' % (ns, e.strerror)
        for i, argv in enumerate(cmds):
            if failed:
                frame(b'X', rid, i, failed.encode())
                code = -1
            else:
                code = builtin(rid, i, argv) if argv[0] in BUILTINS else run(rid, i, argv, None if inputs[i] is None else inputs[i].encode())
                if code != 0 and stop:
                    failed = 'not run: an earlier command failed'
            out.write(b'@C %d %d %d\n' % (rid, i, code))
        out.write(b'@E %d\n' % rid)
        out.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
