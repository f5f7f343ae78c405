#!/usr/bin/python3
# fabric-lab emulator: copy one nftables table, as iptables-nft made it, from a network
# namespace into many others, in ONE process.
#
# Every node of a lab has the same nat table (kube-proxy's Services). iptables-nft-restore
# spends ~45 ms of CPU per node on dc-256's 1,550 nat rules, 40% of it in parsing, in
# starting a process and in probing the kernel's xtables revisions; the kernel's own
# work is the rest. Here the source namespace's table is read back over netlink (the
# objects the kernel holds, as `nft --debug=netlink` shows them) and sent unchanged to
# each target in one transaction: what `iptables-save` and `nft` show there is exactly
# what they show in the source. Counters start at zero.
#
# argv: SOURCE_NETNS_FILE FAMILY TABLE (family: ip); stdin: one target netns file a
# line, each without that table. A failure names the namespace; exit 1.
import ctypes
import os
import resource
import socket
import struct
import sys

CLONE_NEWNET = 0x40000000
libc = ctypes.CDLL(None, use_errno=True)

NETLINK_NETFILTER = 12
SO_SNDBUFFORCE, SO_RCVBUFFORCE = 32, 33
NFTABLES = 10  # NFNL_SUBSYS_NFTABLES
NEWTABLE, GETTABLE, NEWCHAIN, GETCHAIN, NEWRULE, GETRULE = 0, 1, 3, 4, 6, 7
F_REQUEST, F_DUMP, F_CREATE, F_EXCL, F_APPEND = 0x1, 0x300, 0x400, 0x200, 0x800
NLMSG_ERROR, NLMSG_DONE, BATCH_BEGIN, BATCH_END = 2, 3, 0x10, 0x11
NESTED = 0x8000
FAMILIES = {'ip': 2}
# Attributes a request carries (the rest are the kernel's: handles, use counts, flags).
TABLE_ATTRS = {1, 6}             # NFTA_TABLE_NAME, NFTA_TABLE_USERDATA (+ FLAGS when set)
CHAIN_ATTRS = {1, 3, 4, 5, 7, 12}  # TABLE, NAME, HOOK, POLICY, TYPE, USERDATA
RULE_ATTRS = {1, 2, 5, 7}        # TABLE, CHAIN, COMPAT, USERDATA (+ EXPRESSIONS)
META_L4PROTO, CMP_NEQ, RULE_COMPAT_F_INV = 16, 1, 2


def setns(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, '%s: setns: %s' % (path, os.strerror(err)))
    finally:
        os.close(fd)


def attr(kind, data):
    a = struct.pack('=HH', 4 + len(data), kind) + data
    return a + b'\0' * (-len(a) % 4)


def attrs(buf):
    """[(type without NLA_F_NESTED, payload)] of a run of netlink attributes."""
    out, i = [], 0
    while i + 4 <= len(buf):
        length, kind = struct.unpack_from('=HH', buf, i)
        out.append((kind & ~NESTED, buf[i + 4:i + length]))
        i += (length + 3) & ~3
    return out


def message(kind, flags, seq, family, payload, res_id=0):
    body = struct.pack('=BB', family, 0) + struct.pack('>H', res_id) + payload
    return struct.pack('=IHHII', 16 + len(body), kind, flags, seq, 0) + body


def replies(data):
    i = 0
    while i + 16 <= len(data):
        length, kind, _, seq, _ = struct.unpack_from('=IHHII', data, i)
        yield kind, seq, data[i + 16:i + length]
        i += (length + 3) & ~3


def error_of(payload):
    return -struct.unpack_from('=i', payload)[0]


def dump(sock, msg, family, table):
    """The table's objects of one kind, each as its attribute list."""
    sock.send(message(NFTABLES << 8 | msg, F_REQUEST | F_DUMP, 1, family, attr(1, table + b'\0')))
    out = []
    while True:
        for kind, _, payload in replies(sock.recv(1 << 20)):
            if kind == NLMSG_DONE:
                return [a for a in out if dict(a).get(1) == table + b'\0']
            if kind == NLMSG_ERROR:
                if error_of(payload):
                    raise OSError(error_of(payload), 'dump: ' + os.strerror(error_of(payload)))
            else:
                out.append(attrs(payload[4:]))


def expressions(exprs):
    """[(name, {attr: payload})] of a rule's expression list."""
    out = []
    for _, elem in attrs(exprs):
        e = dict(attrs(elem))
        out.append((e.get(1, b'').rstrip(b'\0'), dict(attrs(e.get(2, b'')))))
    return out


def zero_counters(exprs):
    out = b''
    for kind, elem in attrs(exprs):
        if dict(attrs(elem)).get(1) == b'counter\0':
            elem = attr(1, b'counter\0') + attr(2 | NESTED, attr(1, bytes(8)) + attr(2, bytes(8)))
        out += attr(kind | NESTED, elem)
    return out


def compat(exprs):
    """NFTA_RULE_COMPAT, which the kernel needs for xtables matches (`-p tcp -m tcp`) but
    does not dump: iptables-nft sends the protocol it matches with `meta l4proto`."""
    es = expressions(exprs)
    for (n1, d1), (n2, d2) in zip(es, es[1:]):
        if n1 == b'meta' and d1.get(2) == struct.pack('>I', META_L4PROTO) and n2 == b'cmp':
            proto = dict(attrs(d2[3]))[1][0]
            inv = RULE_COMPAT_F_INV if d2[2] == struct.pack('>I', CMP_NEQ) else 0
            return attr(5 | NESTED, attr(1, struct.pack('>I', proto)) + attr(2, struct.pack('>I', inv)))
    return b''


def batch_of(sock, family, table):
    tables = dump(sock, GETTABLE, family, table)
    if not tables:
        raise OSError(2, 'no table %s in the source namespace' % table.decode())
    chains, rules = dump(sock, GETCHAIN, family, table), dump(sock, GETRULE, family, table)
    msgs = [message(BATCH_BEGIN, F_REQUEST, 0, 0, b'', NFTABLES)]
    t = dict(tables[0])
    payload = b''.join(attr(k, v) for k, v in tables[0] if k in TABLE_ATTRS)
    if t.get(2, bytes(4)) != bytes(4):
        payload += attr(2, t[2])
    msgs.append(message(NFTABLES << 8 | NEWTABLE, F_REQUEST | F_CREATE, 1, family, payload))
    for c in chains:
        payload = b''.join(attr(k | (NESTED if k == 4 else 0), v) for k, v in c if k in CHAIN_ATTRS)
        if 4 in dict(c):  # a base chain: its policy counters, zero
            payload += attr(8 | NESTED, attr(1, bytes(8)) + attr(2, bytes(8)))
        msgs.append(message(NFTABLES << 8 | NEWCHAIN, F_REQUEST | F_CREATE | F_EXCL, len(msgs), family, payload))
    for r in rules:
        payload = b''.join(attr(k | (NESTED if k == 5 else 0), v) for k, v in r if k in RULE_ATTRS)
        exprs = dict(r).get(4, b'')
        payload += attr(4 | NESTED, zero_counters(exprs))
        if 5 not in dict(r):
            payload += compat(exprs)
        msgs.append(message(NFTABLES << 8 | NEWRULE, F_REQUEST | F_CREATE | F_APPEND, len(msgs), family, payload))
    msgs.append(message(BATCH_END, F_REQUEST, len(msgs), 0, b'', NFTABLES))
    return b''.join(msgs)


def main():
    source, family, table = sys.argv[1], FAMILIES[sys.argv[2]], sys.argv[3].encode()
    setns(source)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER) as s:
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 22)
        blob = batch_of(s, family, table)
    # Closing a socket of this kind waits for the kernel to free what earlier commits
    # replaced (an RCU grace period, ~10 ms): close them a few hundred at a time, not each.
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    keep = max(1, min(256, soft - 16))
    open_socks = []
    for line in sys.stdin:
        target = line.strip()
        if not target:
            continue
        setns(target)
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        open_socks.append(s)
        s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, len(blob) + 4096)
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20)
        s.sendall(blob)  # processed (and committed or refused whole) before this returns
        s.setblocking(False)
        try:
            for kind, seq, payload in replies(s.recv(1 << 20)):
                if kind == NLMSG_ERROR and error_of(payload):
                    sys.stderr.write('%s: table %s: message %d refused: %s\n' % (target, table.decode(), seq, os.strerror(error_of(payload))))
                    return 1
        except BlockingIOError:
            pass  # no reply: every message accepted
        if len(open_socks) >= keep:
            for o in open_socks:
                o.close()
            open_socks = []
    for o in open_socks:
        o.close()
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except OSError as e:
        sys.stderr.write('nft-clone: %s\n' % e)
        sys.exit(1)
