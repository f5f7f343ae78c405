// Parsers of verify's observers, fed with real outputs recorded on this machine.
import test from 'ava';
import { fixture, ok, frrBgpdDead } from '../fixtures/observed/fixtures.js';
import { splitJsonDocuments, parseBgpSummary, parseFrrRoutes } from '../../src/verify/parse/frr.js';
import { parseBirdProtocols } from '../../src/verify/parse/bird.js';
import { parseKernelRoutes } from '../../src/verify/parse/kernel-routes.js';
import { parsePing } from '../../src/verify/parse/ping.js';
import { parseTcpdump } from '../../src/verify/parse/tcpdump.js';
import { readSwitch, readNode } from '../../src/observe/index.js';

test('vtysh with two -c prints two JSON documents back to back; both are split out', (t) => {
  const docs = splitJsonDocuments(fixture('frr-leaf1-bgp-mode.txt'));
  t.is(docs.length, 2);
  t.truthy((docs[0] as Record<string, unknown>)['10.0.102.0/24'], 'route table first');
  t.truthy((docs[1] as { ipv4Unicast?: unknown }).ipv4Unicast, 'BGP summary second');
});

test('splitting JSON ignores braces inside strings', (t) => {
  t.deepEqual(splitJsonDocuments('{"a":"}{"}\n{"b":[1,{"c":"]"}]}'), [{ a: '}{' }, { b: [1, { c: ']' }] }]);
});

test('BGP summary: peers keyed by address with state, remote AS and dynamic flag (FRR 8.4)', (t) => {
  const peers = parseBgpSummary(splitJsonDocuments(fixture('frr-leaf1-extra-dynamic.txt'))[1]);
  const byIp = new Map(peers.map((p) => [p.ip, p]));
  t.deepEqual([...byIp.keys()].sort(), ['10.0.101.100', '10.0.101.200', '172.16.0.0', '172.16.0.4']);
  t.like(byIp.get('172.16.0.0'), { state: 'Established', remoteAs: 65001, dynamic: false });
  t.like(byIp.get('10.0.101.200'), { state: 'Established', remoteAs: 65101, dynamic: true });
});

test('BGP summary: a spine port down leaves the leaf session Active', (t) => {
  const peers = parseBgpSummary(splitJsonDocuments(fixture('frr-leaf1-spine1-link-down.txt'))[1]);
  t.is(peers.find((p) => p.ip === '172.16.0.0')?.state, 'Active');
  t.is(peers.find((p) => p.ip === '172.16.0.4')?.state, 'Established');
});

test('FRR RIB: installed next hops of the selected route', (t) => {
  const healthy = parseFrrRoutes(splitJsonDocuments(fixture('frr-leaf1-bgp-mode.txt'))[0]);
  t.is(healthy.get('10.0.102.0/24'), 2);
  const down = parseFrrRoutes(splitJsonDocuments(fixture('frr-leaf1-spine1-link-down.txt'))[0]);
  t.is(down.get('10.0.102.0/24'), 1);
});

test('a switch whose bgpd is dead still shows its routes; BGP says why it is missing', (t) => {
  const o = readSwitch(frrBgpdDead(), ok('kernel-routes-leaf2-after-flap.json'));
  t.true(o.rib!.ok);
  t.deepEqual(o.bgp, { ok: false, error: 'bgpd is not running' });
});

test('kernel routes: multipath, single path, host routes as /32, and the desync after a flap', (t) => {
  const leaf1 = parseKernelRoutes(fixture('kernel-routes-leaf1.json'));
  t.is(leaf1.find((r) => r.prefix === '10.0.102.0/24')?.nextHops.length, 2);
  t.is(leaf1.find((r) => r.prefix === '172.16.255.1/32')?.nextHops.length, 1);
  t.is(leaf1.find((r) => r.prefix === '10.0.101.0/24')?.nextHops[0].dev, 'bridge');
  const flapped = parseKernelRoutes(fixture('kernel-routes-leaf2-after-flap.json'));
  t.is(flapped.find((r) => r.prefix === '10.0.101.0/24')?.nextHops.length, 1);
  const rib = parseFrrRoutes(splitJsonDocuments(fixture('frr-leaf2-after-flap.txt'))[0]);
  t.is(rib.get('10.0.101.0/24'), 2, 'FRR still believes in two next hops');
});

test('BIRD protocols: BGP sessions with state and neighbor, other protocols skipped', (t) => {
  const up = parseBirdProtocols(fixture('bird-node-established.txt'));
  t.deepEqual(up.map((p) => [p.name, p.state, p.neighborIp, p.neighborAs]), [['Global_10_0_101_1', 'Established', '10.0.101.1', 65101]]);
  const down = parseBirdProtocols(fixture('bird-node-leaf-down.txt'));
  t.like(down[0], { state: 'Active', neighborIp: '10.0.102.1' });
  t.regex(down[0].info, /Socket: Connection (closed|refused)/);
});

test('a node whose BIRD is dead: the observation says why', (t) => {
  const o = readNode({ stdout: '', stderr: '', exitCode: 1 }, ok('kernel-routes-leaf1.json'));
  t.false(o.bgp!.ok);
  const o2 = readNode({ stdout: fixture('bird-node-dead.txt'), stderr: '', exitCode: 1 }, ok('kernel-routes-leaf1.json'));
  t.deepEqual(o2.bgp, { ok: false, error: fixture('bird-node-dead.txt').trim() });
});

test('ping: replies and their TTL (VXLAN 62, BGP across racks 59), and no reply', (t) => {
  t.deepEqual(parsePing(fixture('ping-vxlan-cross-rack.txt')), { sent: 2, received: 2, ttls: [62, 62] });
  t.deepEqual(parsePing(fixture('ping-bgp-cross-rack.txt')), { sent: 2, received: 2, ttls: [59, 59] });
  t.deepEqual(parsePing(fixture('ping-unreachable.txt')), { sent: 2, received: 0, ttls: [] });
});

test('tcpdump -e: VXLAN outer header with vni and the inner frame on the next line', (t) => {
  const packets = parseTcpdump(fixture('tcpdump-vxlan.txt'));
  t.is(packets.length, 4);
  t.like(packets[0], {
    outer: { src: '10.0.101.100', dst: '10.0.102.101', dstPort: 4789 },
    vxlan: { vni: 4096 },
    inner: { src: '10.64.0.1', dst: '10.68.0.1' },
  });
  t.regex(packets[0].inner!.payload, /^ICMP echo request/);
  t.regex(packets[1].inner!.payload, /^ICMP echo reply/);
});

test('tcpdump: plain ICMP has no inner header; IPIP-style nesting is read as inner', (t) => {
  const plain = parseTcpdump(fixture('tcpdump-plain-icmp.txt'));
  t.is(plain.length, 4);
  t.is(plain[0].inner, undefined);
  t.like(plain[0].outer, { src: '10.64.0.1', dst: '10.68.0.1' });
  // tcpdump's IPIP rendering (the kernel here has no ipip module to record it from).
  const ipip = parseTcpdump('12:00:00.000001 IP 10.0.101.100 > 10.0.102.101: IP 10.64.0.1 > 10.68.0.1: ICMP echo request, id 1, seq 1, length 64 (ipip-proto-4)');
  t.like(ipip[0], { outer: { src: '10.0.101.100', dst: '10.0.102.101' }, inner: { src: '10.64.0.1', dst: '10.68.0.1' } });
});
