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
import ctypes
import json
import os
import select
import signal
import sys

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
                code = run(rid, i, argv, None if inputs[i] is None else inputs[i].encode())
                if code != 0 and stop:
                    failed = 'not run: an earlier command failed'
            out.write(b'@C %d %d %d\n' % (rid, i, code))
        out.write(b'@E %d\n' % rid)
        out.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
