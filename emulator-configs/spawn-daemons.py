#!/usr/bin/python3
# fabric-lab emulator: start many daemons, each in its own session in its network
# namespace, its output appended to its log; print each one's PID (the daemon itself).
#
# `setsid nsenter --net=NS DAEMON ... &` from a shell is three programs per daemon; here
# one process forks each daemon and the child enters its session and namespace itself
# before it execs the daemon (2,200 programs fewer for dc-1024's 1,092 daemons).
#
# stdin: one JSON line per daemon: {"ns": "/var/run/netns/X", "argv": [...], "log": FILE}.
# stdout: one PID a line, in order, printed without waiting for the exec (a daemon
# that cannot exec says why in its log and exits 127, which the caller's wait sees).
# A namespace or log that cannot be opened ends the run: the complaint on stderr, exit 1
# (those started are printed, so the caller records them).
import ctypes
import json
import os
import signal
import sys

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def main():
    # A Ctrl-C of the CLI must not cut the list short after a fork whose PID is not yet
    # printed: every daemon started is named (one line each, at once) and so recorded.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for line in sys.stdin:
        d = json.loads(line)
        try:
            ns = os.open(d['ns'], os.O_RDONLY)
            log = os.open(d['log'], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            null = os.open('/dev/null', os.O_RDONLY)
        except OSError as e:
            sys.stderr.write('could not start %s: %s: %s\n' % (' '.join(d['argv']), e.filename, e.strerror))
            return 1
        pid = os.fork()
        if pid == 0:
            try:
                for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):  # Python's, not the daemon's
                    signal.signal(sig, signal.SIG_DFL)
                os.setsid()
                os.dup2(null, 0)
                os.dup2(log, 1)
                os.dup2(log, 2)
                if libc.setns(ns, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), 'setns %s: %s' % (d['ns'], os.strerror(ctypes.get_errno())))
                os.execvp(d['argv'][0], d['argv'])
            except OSError as e:
                # In its log, where the caller looks when the daemon does not come up.
                os.write(2, ('could not start %s: %s\n' % (d['argv'][0], e.strerror or e)).encode())
            os._exit(127)
        for fd in (ns, log, null):
            os.close(fd)
        sys.stdout.write('%d\n' % pid)
        sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
