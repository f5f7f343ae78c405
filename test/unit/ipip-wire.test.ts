// IPIP as tcpdump (-n -e -l) really prints it: recorded on k8s-worker1's eth0 in the
// test:ipip guest (Debian 6.1 kernel, tcpdump 4.99), k8s-worker1 pinging a pod on
// k8s-worker2. With -e there is no `(ipip-proto-4)` suffix: only `outer: inner:`.
import test from 'ava';
import { parseTcpdump } from '../../src/verify/parse/tcpdump.js';
import { judgeEncapsulation } from '../../src/verify/checks/encapsulation.js';
import type { EncapIntent } from '../../src/plan/types.js';

const RECORDED = `13:55:56.990604 52:4e:77:f9:ce:f7 > 52:44:4c:88:d9:1e, ethertype IPv4 (0x0800), length 118: 192.168.50.11 > 192.168.50.12: 10.244.0.64 > 10.244.0.129: ICMP echo request, id 373, seq 1, length 64
13:55:56.994222 52:44:4c:88:d9:1e > 52:4e:77:f9:ce:f7, ethertype IPv4 (0x0800), length 118: 192.168.50.12 > 192.168.50.11: 10.244.0.129 > 10.244.0.64: ICMP echo reply, id 373, seq 1, length 64`;

const intent: EncapIntent = {
  kind: 'ipip', node: 'k8s-worker1', iface: 'eth0', from: 'k8s-worker1', to: 'nginx',
  fromIp: '10.244.0.64', toIp: '10.244.0.129', outerSrc: '192.168.50.11', outerDst: '192.168.50.12',
};

test('real IPIP capture: outer node addresses, inner pod addresses, judged as IPIP', (t) => {
  const packets = parseTcpdump(RECORDED);
  t.like(packets[0], { outer: { src: '192.168.50.11', dst: '192.168.50.12' }, inner: { src: '10.244.0.64', dst: '10.244.0.129' } });
  t.like(packets[1], { outer: { src: '192.168.50.12', dst: '192.168.50.11' }, inner: { src: '10.244.0.129', dst: '10.244.0.64' } });
  t.deepEqual(judgeEncapsulation(intent, packets, 100), {
    ok: true, observed: 'IPIP 192.168.50.11 > 192.168.50.12, inside 10.244.0.64 > 10.244.0.129 ICMP echo request',
  });
});

test('the same capture fails a VXLAN intent and an IPIP intent between other nodes', (t) => {
  const packets = parseTcpdump(RECORDED);
  t.false(judgeEncapsulation({ ...intent, kind: 'vxlan', vni: 4096, port: 4789 }, packets, 100).ok);
  t.false(judgeEncapsulation({ ...intent, outerDst: '192.168.50.10' }, packets, 100).ok);
});
