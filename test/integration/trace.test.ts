// lab trace on real labs (root): the seed pair in VXLAN and BGP mode read from the live
// tables, the probe confirming it on the wire, and a trace stopped by a fault.
import './emulator-env.js';
import test from 'ava';
import type { Plan } from '../../src/plan/types.js';
import { parseFault } from '../../src/fault/model.js';
import { applyFault, clearFaults } from '../../src/fault/apply.js';
import { tracePath, type Trace } from '../../src/trace/model.js';
import { liveOracle, probePath, snapshotLab } from '../../src/teach/observers.js';
import { emulatorLabs, isRoot } from './emulator-helpers.js';

const serial = isRoot ? test.serial : test.serial.skip;
const labs = emulatorLabs(test);
const { bringUp } = labs;

async function trace(p: Plan, fromNode: string, toNode: string): Promise<Trace> {
  const from = p.pods.find((x) => x.node === fromNode)!;
  const to = p.pods.find((x) => x.node === toNode)!;
  return tracePath(p, await snapshotLab(p, labs.emulator), liveOracle(p, labs.emulator), from.name, { src: from.ip, dst: to.ip, proto: 'icmp' }, to.name);
}

const devices = (t: Trace) => t.hops.map((h) => h.device);

serial('VXLAN: l2-1 to l1-2 is VNI 4096 from 10.0.102.101 to 10.0.101.102 over leaf2, a spine, leaf1; TTL 62; the probe sees it', async (t) => {
  const p = await bringUp('calico-vxlan', 'te-tv');
  const tr = await trace(p, 'k8s-node-l2-1', 'k8s-node-l1-2');
  t.true(tr.delivered, tr.stoppedBecause ?? '');
  const d = devices(tr);
  t.deepEqual([d[1], d[2], d[4], d[5]], ['k8s-node-l2-1', 'leaf2', 'leaf1', 'k8s-node-l1-2']);
  t.regex(d[3], /^spine-sw[12]$/);
  t.like(tr.hops[1].encap, { type: 'vxlan', vni: 4096, port: 4789, outerSrc: '10.0.102.101', outerDst: '10.0.101.102' });
  t.like(tr.hops[5].encap, { vni: 4096, decap: true });
  t.deepEqual(tr.hops.slice(2, 5).map((h) => h.encap), [null, null, null], 'the fabric sees only the outer header');
  t.is(tr.hops.at(-1)!.ttl, 62);
  // leaf2 routes the outer packet by BGP with two spines to choose from, and says which.
  t.is(tr.hops[2].route?.protocol, 'bgp');
  t.is(tr.hops[2].nextHops.length, 2);
  t.regex(tr.hops[2].chosen!, new RegExp(d[3] === 'spine-sw1' ? '172.16.0.2' : '172.16.0.6'));
  t.regex(tr.hops[2].route!.from!, /^spine-sw[12] /);
  const seen = await probePath(p, labs.emulator, p.name, tr);
  t.deepEqual(seen.slice(1), tr.hops.slice(1).map(() => true));

  // A blackhole for the destination node on leaf1: stopped there, saying why.
  await applyFault(p, labs.emulator, p.name, parseFault(p, 'blackhole', ['leaf1', '10.0.101.102/32'], {}));
  const broken = await trace(p, 'k8s-node-l2-1', 'k8s-node-l1-2');
  t.false(broken.delivered);
  t.is(broken.hops.at(-1)!.device, 'leaf1');
  t.regex(broken.stoppedBecause!, /blackhole .*leaf1/);
  await clearFaults(labs.emulator, p.name);
  // The node's cable down: stopped at leaf1 on that port.
  await applyFault(p, labs.emulator, p.name, parseFault(p, 'link', ['leaf1', 'k8s-node-l1-2', 'down'], {}));
  const cut = await trace(p, 'k8s-node-l2-1', 'k8s-node-l1-2');
  t.false(cut.delivered);
  t.regex(cut.stoppedBecause!, /link down: leaf1 swp5/);
  await clearFaults(labs.emulator, p.name);
  t.true((await trace(p, 'k8s-node-l2-1', 'k8s-node-l1-2')).delivered);
});

serial('BGP: the same pair unencapsulated through leaf, spine, leaf, TTL 59', async (t) => {
  const p = await bringUp('calico-bgp', 'te-tb');
  const tr = await trace(p, 'k8s-node-l2-1', 'k8s-node-l1-2');
  t.true(tr.delivered, tr.stoppedBecause ?? '');
  const d = devices(tr);
  t.deepEqual([d[1], d[2], d[4], d[5]], ['k8s-node-l2-1', 'leaf2', 'leaf1', 'k8s-node-l1-2']);
  t.true(tr.hops.every((h) => h.encap === null));
  t.deepEqual(tr.hops.map((h) => h.ttl), [64, 63, 62, 61, 60, 59, 59]);
  t.regex(tr.hops[4].route!.from!, /^k8s-node-l1-2 \(10.0.101.102\)/, 'leaf1 learnt the block from the node over BGP');
});
