#!/usr/bin/python3
# fabric-lab emulator: start many daemons, each in its own session in its network
# namespace, its output appended to its log; print each one's PID (the daemon itself).
#
# `setsid nsenter --net=NS DAEMON ... &` from a shell is three programs per daemon. Here
# this process enters each daemon's namespace itself (setns) and posix_spawns the daemon
# there (vfork and exec, in a new session): one program per daemon, 2,200 fewer for
# dc-1024's 1,092 daemons.
#
# stdin: one JSON line per daemon: {"ns": "/var/run/netns/X", "argv": [...], "log": FILE}.
# stdout: one PID a line, in order, each as soon as it is started. A daemon that cannot
# be started (namespace, log or program missing) ends the run: the complaint on stderr,
# exit 1 (those started are printed, so the caller records them).
import ctypes
import json
import os
import signal
import sys

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
    finally:
        os.close(fd)


def main():
    # A Ctrl-C of the CLI must not cut the list short after a spawn whose PID is not yet
    # printed: every daemon started is named (one line each, at once) and so recorded.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for line in sys.stdin:
        d = json.loads(line)
        try:
            setns(d['ns'])
            # setsigdef: SIGINT ignored here, SIGPIPE and SIGXFSZ by Python: the daemon's defaults.
            pid = os.posix_spawnp(d['argv'][0], d['argv'], os.environ, setsid=True, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, d['log'], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ], setsigdef=(signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ))
        except OSError as e:
            sys.stderr.write('could not start %s in %s: %s%s\n' % (' '.join(d['argv']), d['ns'], e.strerror, ' (%s)' % e.filename if e.filename else ''))
            return 1
        sys.stdout.write('%d\n' % pid)
        sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main())
