// Big labs: nodesPerLeaf, routesToNodes, size-scaled BGP timers, and a plan that stays
// O(N) (no list of every pod pair, no per-node list of every other block).
import test from 'ava';
import { loadLab, parseLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { allPings } from '../../src/plan/intent.js';
import { FULL_MESH_PODS, samplePairs } from '../../src/verify/sample.js';
import { renderFabric } from '../../src/render/fabric.js';
import { renderBirdConf } from '../../src/providers/emulator/bird.js';
import { buildTopology } from '../../src/providers/emulator/topology.js';

const small = (extra: { nodes?: string; calico?: string; fabric?: string; workloads?: string } = {}) => parseLab(`name: sc-small
fabric:
  addressing: { loopback: 172.16.255.0/24, p2p: 172.16.0.0/24 }
${extra.fabric ?? ''}
  spines:
    - { name: spine1, asn: 65001 }
    - { name: spine2, asn: 65002 }
  leaves:
    - { name: leaf1, asn: 65101, rack: 10.0.101.0/24 }
    - { name: leaf2, asn: 65102, rack: 10.0.102.0/24 }
kubernetes:
  version: "1.30"
  podSubnet: 10.64.0.0/16
  serviceSubnet: 10.80.0.0/12
${extra.nodes ?? '  nodesPerLeaf: { count: 3, name: "n-{l}-{i}-{n}", controlPlanes: 2 }'}
cni:
  plugin: calico
  calico: { mode: bgp${extra.calico ?? ''} }
workloads:
  - { name: web, replicas: ${extra.workloads ?? '4'} }
`, '/x/sc-small.yaml');

test('nodesPerLeaf: node 1 of every leaf, then node 2 ...; placeholders filled; first controlPlanes are control planes', (t) => {
  const lab = small();
  t.deepEqual(lab.kubernetes!.nodes.map((n) => [n.name, n.leaf, n.role]), [
    ['n-1-1-1', 'leaf1', 'control-plane'], ['n-2-1-2', 'leaf2', 'control-plane'],
    ['n-1-2-3', 'leaf1', 'worker'], ['n-2-2-4', 'leaf2', 'worker'],
    ['n-1-3-5', 'leaf1', 'worker'], ['n-2-3-6', 'leaf2', 'worker'],
  ]);
  t.false('nodesPerLeaf' in lab.kubernetes!);
  const p = plan(lab);
  t.deepEqual(p.nodes.filter((n) => n.rack === 'leaf1').map((n) => n.addr.ip), ['10.0.101.101', '10.0.101.102', '10.0.101.103']);
});

test('nodesPerLeaf after listed nodes, with {leaf}', (t) => {
  const lab = small({ nodes: '  nodes:\n    - { name: cp, leaf: leaf2, role: control-plane }\n  nodesPerLeaf: { count: 1, name: "w-{leaf}" }' });
  t.deepEqual(lab.kubernetes!.nodes.map((n) => n.name), ['cp', 'w-leaf1', 'w-leaf2']);
});

test('routesToNodes default: leaves default-originate through a prefix list, nodes expect only a default route, no static default, ttl 61 in a rack', (t) => {
  const p = plan(small({ calico: ', routesToNodes: default' }));
  t.is(p.switches.find((s) => s.name === 'leaf1')!.bgp!.listen!.routesToNodes, 'default');
  const conf = renderFabric(p).find((f) => f.path === 'fabric-configs/leaf1/frr.conf')!.content;
  t.true(conf.includes('  neighbor RACK default-originate\n  neighbor RACK prefix-list DEFAULT-ONLY out\n'));
  t.true(conf.includes('ip prefix-list DEFAULT-ONLY seq 5 permit 0.0.0.0/0'));
  t.false(renderFabric(p).find((f) => f.path === 'fabric-configs/spine1/frr.conf')!.content.includes('DEFAULT-ONLY'));
  const nodeRoutes = p.intent.routes.filter((r) => p.nodes.some((n) => n.name === r.device));
  t.deepEqual([...new Set(nodeRoutes.map((r) => r.prefix))], ['0.0.0.0/0']);
  t.is(nodeRoutes.length, p.nodes.length);
  const topo = buildTopology(p);
  t.false(topo.configs.find((c) => c.kind === 'node')!.links.some((l) => l.startsWith('route add default')));
  const byNode = new Map(p.pods.map((x) => [x.name, p.nodes.find((n) => n.name === x.node)!]));
  for (const ping of allPings(p)) t.is(ping.ttl, byNode.get(ping.from)!.rack === byNode.get(ping.to)!.rack ? 61 : 59);
  // and the default stays as Calico does it: every route, static default on nodes
  const all = plan(small());
  t.false(renderFabric(all).find((f) => f.path === 'fabric-configs/leaf1/frr.conf')!.content.includes('default-originate'));
  t.true(buildTopology(all).configs.find((c) => c.kind === 'node')!.links.some((l) => l.startsWith('route add default')));
});

test('BGP timers: fast for small labs, from the lab file when given, reaching FRR and BIRD', (t) => {
  const p = plan(small());
  t.deepEqual(p.bgpTimers, { fabric: { keepalive: 3, hold: 9 }, nodes: { keepalive: 1, hold: 3 }, source: 'size' });
  const q = plan(small({ fabric: '  bgpTimers: { keepalive: 7, hold: 21 }' }));
  t.deepEqual(q.bgpTimers.fabric, { keepalive: 7, hold: 21 });
  t.true(renderFabric(q)[1].content.includes(' timers bgp 7 21\n'));
  const bird = renderBirdConf(q, q.nodes[0], '/tmp/x.log');
  t.true(bird.includes('  hold time 21;\n  keepalive time 7;'));
});

test('BGP timers scale with the node count: 5/15 from 128 nodes, 10/30 from 512', async (t) => {
  t.deepEqual(plan(await loadLab('dc-256')).bgpTimers.fabric, { keepalive: 5, hold: 15 });
  const big = plan(await loadLab('dc-1024'));
  t.deepEqual(big.bgpTimers, { fabric: { keepalive: 10, hold: 30 }, nodes: { keepalive: 10, hold: 30 }, source: 'size' });
  t.true(renderBirdConf(big, big.nodes[5], '/tmp/x.log').includes('hold time 30;'));
});

test('replicas past 100, spread over distinct workers first; bounded by the room in the blocks', (t) => {
  t.throws(() => small({ workloads: '600' }), { message: /a \/26 block has room for 64 pods, but the workloads put up to 150 on one node/ });
  const p = plan(small({ workloads: '240' }));
  const per = new Map<string, number>();
  for (const x of p.pods) per.set(x.node, (per.get(x.node) ?? 0) + 1);
  t.deepEqual([...per.values()].sort(), [40, 40, 40, 40, 40, 40]);
});

test('pings: every pair up to 64 pods, a sample covering every rack beyond; podPairs counts them all; allPings lists them', async (t) => {
  const few = plan(small());
  t.is(samplePairs(few).pairs, few.intent.podPairs);
  t.is([...allPings(few)].length, few.intent.podPairs);
  const p = plan(await loadLab('dc-256'));
  t.true(p.pods.length > FULL_MESH_PODS);
  t.is(p.intent.podPairs, 512 * 512 - 256 * 4);
  const s = samplePairs(p);
  const pings = [...s.bySource.values()].flat();
  t.is(s.pairs, pings.length);
  t.true(s.pairs <= p.nodes.length * 32 + p.pods.length, `${s.pairs} pings: O(nodes x racks)`);
  const rack = new Map(p.pods.map((x) => [x.name, p.nodes.find((n) => n.name === x.node)!.rack]));
  t.is(new Set(pings.map((x) => rack.get(x.from))).size, 32, 'every rack sends');
  t.is(new Set(pings.map((x) => rack.get(x.to))).size, 32, 'every rack receives');
  t.true(pings.some((x) => rack.get(x.from) === rack.get(x.to)), 'same-rack pairs too');
  t.true(pings.every((x) => x.ttl === (rack.get(x.from) === rack.get(x.to) ? 62 : 59)));
});

test('shipped big labs: 256 and 1,024 nodes; dc-1024 plans with O(N) intent (time in bench/, not asserted here)', async (t) => {
  const lab = await loadLab('dc-1024');
  t.is(lab.kubernetes!.nodes.length, 1024);
  const started = performance.now();
  const p = plan(lab);
  const ms = performance.now() - started;
  t.log(`plan of dc-1024: ${ms.toFixed(0)} ms`);
  t.is(p.switches.length, 68);
  // Every pod block on every switch (68 x 1024) plus the underlay and one default per node: no N^2.
  t.true(p.intent.routes.length < 68 * 1024 + 68 * 128 + 2 * 1024, `${p.intent.routes.length} routes`);
  t.is(p.intent.sessions.length, 2 * 4 * 64 + 2 * 1024);
  t.is((await loadLab('dc-256-vxlan')).kubernetes!.nodes.length, 256);
});

test('neighbour table: a lab needs an entry per cable end (and per remote VTEP in VXLAN); thresholds at 1x/2x/4x of that', async (t) => {
  const { neighbourEntries, wantedThresholds } = await import('../../src/providers/emulator/neigh.js');
  const bgp = plan(await loadLab('dc-256'));
  t.is(neighbourEntries(bgp), 2 * bgp.links.length);
  const vxlan = plan(await loadLab('dc-256-vxlan'));
  t.is(neighbourEntries(vxlan), 2 * vxlan.links.length + 256 * 255);
  t.like(wantedThresholds(1000), { 'net.ipv4.neigh.default.gc_thresh1': 1000, 'net.ipv4.neigh.default.gc_thresh2': 2000, 'net.ipv6.neigh.default.gc_thresh3': 4000 });
  t.true(neighbourEntries(plan(small())) * 4 < 1024, 'a small lab keeps the kernel defaults');
  const { needsRaise } = await import('../../src/providers/emulator/neigh.js');
  const kernel = Object.fromEntries(['ipv4', 'ipv6'].flatMap((f) => [1, 2, 3].map((n) => [`net.${f}.neigh.default.gc_thresh${n}`, [0, 128, 512, 1024][n]])));
  t.false(needsRaise(wantedThresholds(256), kernel), 'gc_thresh1 alone (256 > 128) changes no host setting');
  t.true(needsRaise(wantedThresholds(257), kernel), 'more than gc_thresh2 / 2 entries does');
});
