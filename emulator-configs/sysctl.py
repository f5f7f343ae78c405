#!/usr/bin/python3
# fabric-lab emulator: sysctls of many network namespaces in ONE process.
#
# /proc/sys/net shows the network namespace of the process that opens it, so after
# setns() into a namespace a write there is that namespace's setting (what `sysctl -w`
# does under `nsenter --net`), without a process per namespace.
#
# stdin: one line per namespace, "NETNS_FILE key=value key=value ..." (sysctl names:
# dots between the parts, or slashes as sysctl(8) allows, for an interface name with a
# dot in it). A failure names the namespace and setting; exit 1.
import ctypes
import os
import sys

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def main():
    home = os.open('/proc/self/ns/net', os.O_RDONLY)
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        netns, settings = parts[0], parts[1:]
        fd = os.open(netns, os.O_RDONLY)
        try:
            setns(fd)
            for s in settings:
                key, _, value = s.partition('=')
                try:
                    with open('/proc/sys/' + (key if '/' in key else key.replace('.', '/')), 'w') as f:
                        f.write(value + '\n')
                except OSError as e:
                    sys.stderr.write('%s: %s=%s: %s\n' % (netns, key, value, e.strerror))
                    return 1
        finally:
            os.close(fd)
    setns(home)
    return 0


if __name__ == '__main__':
    sys.exit(main())
