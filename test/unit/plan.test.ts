import test from 'ava';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { remoteBlocks } from '../../src/plan/cluster.js';
import { allPings } from '../../src/plan/intent.js';
import type { Plan } from '../../src/plan/types.js';

const load = async (name: string) => plan(await loadLab(name));
const sw = (p: Plan, name: string) => p.switches.find((s) => s.name === name)!;
const port = (p: Plan, s: string, peer: string) => sw(p, s).ports.find((x) => x.peer === peer)!;

test('seed 001 p2p addressing: /31 number s*L+l, spine even, leaf odd', async (t) => {
  const p = await load('calico-vxlan');
  // DESIGN 3.1: leaf1 sees spine-sw1 at .0 and spine-sw2 at .4; leaf2 at .2 and .6.
  t.is(port(p, 'spine-sw1', 'leaf1').addr!.ip, '172.16.0.0');
  t.is(port(p, 'spine-sw2', 'leaf1').addr!.ip, '172.16.0.4');
  t.is(port(p, 'spine-sw1', 'leaf2').addr!.ip, '172.16.0.2');
  t.is(port(p, 'spine-sw2', 'leaf2').addr!.ip, '172.16.0.6');
  t.is(port(p, 'leaf1', 'spine-sw1').addr!.ip, '172.16.0.1');
  t.is(port(p, 'leaf2', 'spine-sw2').addr!.ip, '172.16.0.7');
  t.deepEqual(sw(p, 'leaf1').bgp!.neighbors.map((n) => [n.ip, n.remoteAsn]), [['172.16.0.0', 65001], ['172.16.0.4', 65002]]);
});

test('loopbacks, router ids, ports and rack bridge', async (t) => {
  const p = await load('calico-vxlan');
  t.deepEqual(p.switches.map((s) => [s.name, s.loopback, s.bgp!.routerId]), [
    ['spine-sw1', '172.16.255.1', '172.16.255.1'], ['spine-sw2', '172.16.255.2', '172.16.255.2'],
    ['leaf1', '172.16.255.101', '172.16.255.101'], ['leaf2', '172.16.255.102', '172.16.255.102'],
  ]);
  t.deepEqual(sw(p, 'spine-sw1').ports.map((x) => `${x.name}>${x.peer}`), ['swp1>leaf1', 'swp2>leaf2']);
  t.deepEqual(sw(p, 'leaf1').ports.map((x) => `${x.name}>${x.peer}`), ['swp1>spine-sw1', 'swp2>spine-sw2', 'swp3>k8s-master-l1-1', 'swp4>k8s-node-l1-1', 'swp5>k8s-node-l1-2']);
  t.deepEqual(sw(p, 'leaf1').bridge, { name: 'br0', addr: { ip: '10.0.101.1', prefixLen: 24 }, members: ['swp3', 'swp4', 'swp5'] });
  t.deepEqual(sw(p, 'leaf2').bgp!.networks, ['10.0.102.0/24', '172.16.255.102/32']);
  t.deepEqual(sw(p, 'spine-sw2').bgp!.networks, ['172.16.255.2/32']);
});

test('node addresses: explicit, else next free from .101 (seed 001)', async (t) => {
  const p = await load('calico-vxlan');
  t.deepEqual(p.nodes.map((n) => [n.name, n.addr.ip, n.gateway]), [
    ['k8s-master-l1-1', '10.0.101.100', '10.0.101.1'], ['k8s-node-l1-1', '10.0.101.101', '10.0.101.1'],
    ['k8s-node-l1-2', '10.0.101.102', '10.0.101.1'], ['k8s-node-l2-1', '10.0.102.101', '10.0.102.1'],
    ['k8s-node-l2-2', '10.0.102.102', '10.0.102.1'],
  ]);
});

test('VXLAN: a block per node, VTEP = first address, 66: MAC, Felix routes to every other node', async (t) => {
  const p = await load('calico-vxlan');
  const n = p.nodes[1];
  t.is(n.blocks[0], '10.64.0.64/26');
  t.is(n.vtep!.ip, '10.64.0.64');
  t.regex(n.vtep!.mac, /^66(:[0-9a-f]{2}){5}$/);
  t.like(n.vtep!, { vni: 4096, port: 4789, mtu: 1450, device: 'vxlan.calico' });
  t.is(remoteBlocks(p.nodes, n).length, 4);
  t.true(remoteBlocks(p.nodes, n).every((r) => r.vtep !== undefined));
  t.is(n.bgp, undefined, 'BGP is off on nodes in VXLAN mode');
  t.is(new Set(p.nodes.map((x) => x.vtep!.mac)).size, 5);
});

test('pods: seed 001 lands 4 nginx pods on 4 distinct workers, Calico names and gateway', async (t) => {
  const p = await load('calico-vxlan');
  t.deepEqual(p.pods.map((x) => x.node), ['k8s-node-l1-1', 'k8s-node-l1-2', 'k8s-node-l2-1', 'k8s-node-l2-2']);
  for (const pod of p.pods) {
    t.regex(pod.name, /^nginx-[a-z0-9]{10}-[a-z0-9]{5}$/);
    t.regex(pod.hostIface, /^cali[0-9a-f]{11}$/);
    t.is(pod.gateway, '169.254.1.1');
    t.is(pod.namespace, 'space1');
  }
  t.is(p.pods[0].ip, '10.64.0.65', 'ordinal 0 is the VTEP');
});

test('VXLAN intent: only spine sessions on leaves, no pod prefixes on switches, ECMP, ttl 62, VNI on the wire', async (t) => {
  const p = await load('calico-vxlan');
  t.deepEqual(p.intent.sessions.filter((s) => s.speaker === 'leaf1').map((s) => s.peer), ['spine-sw1', 'spine-sw2']);
  t.is(p.intent.sessions.length, 8);
  t.true(p.intent.routes.filter((r) => r.prefix === '10.64.0.0/12').every((r) => !r.present));
  t.like(p.intent.routes.find((r) => r.device === 'leaf1' && r.prefix === '10.0.102.0/24')!, { present: true, nextHops: 2 });
  t.like(p.intent.routes.find((r) => r.device === 'spine-sw1' && r.prefix === '10.0.102.0/24')!, { present: true, nextHops: 1 });
  const pings = [...allPings(p)];
  t.is(pings.length, 12);
  t.true(pings.every((x) => x.ttl === 62));
  t.like(p.intent.encapsulation!, { kind: 'vxlan', vni: 4096, port: 4789, iface: 'eth0' });
  const e = p.intent.encapsulation!;
  t.not(p.nodes.find((n) => n.addr.ip === e.outerSrc)!.rack, p.nodes.find((n) => n.addr.ip === e.outerDst)!.rack, 'a cross-rack pair');
});

test('BGP as-per-rack: node AS = leaf AS, listen range on leaves, every pod block on every switch, ttl 59 across racks', async (t) => {
  const p = await load('calico-bgp');
  t.deepEqual(p.nodes.map((n) => n.bgp!.asn), [65101, 65101, 65101, 65102, 65102]);
  t.deepEqual(p.nodes[3].bgp!.neighbors.map((n) => [n.ip, n.remoteAsn]), [['10.0.102.1', 65102]]);
  t.deepEqual(sw(p, 'leaf1').bgp!.listen, { peerGroup: 'RACK', range: '10.0.101.0/24', remoteAs: 65101, routeReflectorClient: true, nextHopSelf: true, expectedPeers: 3, routesToNodes: 'all' });
  t.is(p.intent.sessions.filter((s) => s.speaker === 'leaf1').length, 2 + 3);
  t.true(p.intent.sessions.filter((s) => s.speaker === 'leaf1' && s.dynamic).every((s) => s.kind === 'ibgp'));
  for (const s of p.switches) for (const n of p.nodes) t.true(p.intent.routes.some((r) => r.device === s.name && r.prefix === n.blocks[0] && r.present), `${s.name} routes ${n.blocks[0]}`);
  const ttl = (a: string, b: string) => [...allPings(p)].find((x) => p.pods.find((q) => q.name === x.from)!.node === a && p.pods.find((q) => q.name === x.to)!.node === b)!.ttl;
  t.is(ttl('k8s-node-l1-1', 'k8s-node-l2-1'), 59);
  t.is(ttl('k8s-node-l1-1', 'k8s-node-l1-2'), 62);
  t.is(p.intent.encapsulation!.kind, 'none');
  t.is(p.pods[0].ip, '10.64.0.64', 'no tunnel address in BGP mode: pods start at ordinal 0');
});

test('BGP as-per-node: each node its own private AS, eBGP, leaves accept external', async (t) => {
  const lab = await loadLab('calico-bgp');
  if (lab.cni?.plugin !== 'calico') throw new Error('calico lab expected');
  lab.cni.calico.peering = 'as-per-node';
  const p = plan(lab);
  t.is(new Set(p.nodes.map((n) => n.bgp!.asn)).size, 5);
  t.true(p.nodes.every((n) => n.bgp!.asn >= 4200000000));
  t.is(sw(p, 'leaf2').bgp!.listen!.remoteAs, 'external');
  t.false(sw(p, 'leaf2').bgp!.listen!.routeReflectorClient);
  t.true(p.intent.sessions.filter((s) => s.dynamic).every((s) => s.kind === 'ebgp'));
  const ttl = (a: string, b: string) => [...allPings(p)].find((x) => p.pods.find((q) => q.name === x.from)!.node === a && p.pods.find((q) => q.name === x.to)!.node === b)!.ttl;
  t.is(ttl('k8s-node-l1-1', 'k8s-node-l1-2'), 61, 'same rack: eBGP routes via the leaf (next-hop-self)');
  t.is(ttl('k8s-node-l1-1', 'k8s-node-l2-2'), 59);
});

test('bridge CNI: per-node /24 in node order, bridge gateway .1, pods from .2 on both nodes, static routes', async (t) => {
  const p = await load('bridge-static');
  t.deepEqual(p.nodes.map((n) => [n.blocks[0], n.bridge!.name, n.bridge!.addr.ip]), [['10.244.0.0/24', 'cni0', '10.244.0.1'], ['10.244.1.0/24', 'cni0', '10.244.1.1']]);
  t.deepEqual(remoteBlocks(p.nodes, p.nodes[0]), [{ block: '10.244.1.0/24', node: 'k8s-worker', nodeIp: '10.138.0.3' }]);
  t.deepEqual([...new Set(p.pods.map((x) => x.node))].sort(), ['k8s-master', 'k8s-worker']);
  t.true(p.pods.every((x) => /^10\.244\.[01]\.[2-9]$/.test(x.ip)));
  t.deepEqual(p.switches.map((s) => [s.name, s.kind, s.bridge!.addr.ip]), [['lan', 'lan-switch', '10.138.0.1']]);
  t.is(p.intent.sessions.length, 0);
});

test('kthw: cbr0, 10.200.x.0/24 per node, pods on the three workers', async (t) => {
  const p = await load('kthw-static');
  t.is(p.nodes.length, 6);
  t.true(p.nodes.every((n) => n.bridge!.name === 'cbr0'));
  t.deepEqual(p.pods.map((x) => x.node), ['worker-0', 'worker-1', 'worker-2']);
});

test('IPIP mesh: AS 64512, every node peers with every other node', async (t) => {
  const p = await load('calico-ipip');
  t.true(p.nodes.every((n) => n.bgp!.asn === 64512 && n.bgp!.neighbors.length === 2));
  t.is(p.nodes[0].tunnelIp, '10.244.0.0');
  t.is(p.intent.sessions.length, 6);
  t.is(p.intent.encapsulation!.kind, 'ipip');
});

test('plan is deterministic and JSON-serialisable', async (t) => {
  const a = JSON.stringify(await load('calico-bgp'));
  const b = JSON.stringify(await load('calico-bgp'));
  t.is(a, b);
});

test('node route intents name the next hop each mode installs: VTEP, node, leaf', async (t) => {
  const { parseLab } = await import('../../src/lab/load.js');
  const { readFile } = await import('node:fs/promises');
  const { repoRoot } = await import('../../src/paths.js');
  const text = await readFile(`${repoRoot}/labs/calico-bgp.yaml`, 'utf8');
  const via = (p: Plan, device: string, prefix: string) => p.intent.routes.find((r) => r.device === device && r.prefix === prefix)?.via;
  const blockOf = (p: Plan, node: string) => p.nodes.find((n) => n.name === node)!.blocks[0];
  const l1 = '10.0.101.1';
  const rack = plan(parseLab(text, 'calico-bgp.yaml'));
  t.deepEqual(via(rack, 'k8s-node-l1-1', blockOf(rack, 'k8s-node-l1-2')), [{ device: 'k8s-node-l1-2', ip: '10.0.101.102' }], 'as-per-rack, same rack: the node itself (reflected)');
  t.deepEqual(via(rack, 'k8s-node-l1-1', blockOf(rack, 'k8s-node-l2-1')), [{ device: 'leaf1', ip: l1 }], 'as-per-rack, other rack: the leaf (next-hop-self)');
  const node = plan(parseLab(text.replace('peering: as-per-rack', 'peering: as-per-node'), 'calico-bgp.yaml'));
  t.deepEqual(via(node, 'k8s-node-l1-1', blockOf(node, 'k8s-node-l1-2')), [{ device: 'leaf1', ip: l1 }], 'as-per-node (eBGP): the leaf, same rack too');
  const dflt = plan(parseLab(text.replace('peering: as-per-rack', 'peering: as-per-rack\n    routesToNodes: default'), 'calico-bgp.yaml'));
  t.deepEqual(via(dflt, 'k8s-node-l1-1', '0.0.0.0/0'), [{ device: 'leaf1', ip: l1 }]);
  t.is(via(dflt, 'k8s-node-l1-1', blockOf(dflt, 'k8s-node-l1-2')), undefined, 'no block routes with a default only');
  const vx = await load('calico-vxlan');
  const to = vx.nodes[1];
  t.deepEqual(via(vx, vx.nodes[0].name, to.blocks[0]), [{ device: to.name, ip: to.vtep!.ip }], 'VXLAN: the VTEP');
  const br = await load('bridge-static');
  t.deepEqual(via(br, 'k8s-master', br.nodes[1].blocks[0]), [{ device: 'k8s-worker', ip: '10.138.0.3' }], 'static route: the node');
  t.true([rack, node, dflt, vx, br].every((p) => p.intent.routes.filter((r) => p.nodes.some((n) => n.name === r.device)).every((r) => r.via?.length === r.nextHops)));
});
