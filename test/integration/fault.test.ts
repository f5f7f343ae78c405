// lab fault on real labs (root): every kind applied, verify fails naming exactly what it
// broke (and hints at the fault), clear, verify green again. Labs run as tz-fv / tz-fb.
import './emulator-env.js';
import test, { type ExecutionContext } from 'ava';
import type { Plan } from '../../src/plan/types.js';
import { verify, type Report, type Check } from '../../src/verify/index.js';
import { parseFault, faultHint, type FaultOptions } from '../../src/fault/model.js';
import { applyFault, clearFaults } from '../../src/fault/apply.js';
import { readFaults } from '../../src/fault/store.js';
import { graphModel, type GraphModel } from '../../src/graph/model.js';
import { observeGraph } from '../../src/teach/observers.js';
import { emulatorLabs, verifyUntil, inNs, isRoot, nsOf } from './emulator-helpers.js';

const serial = isRoot ? test.serial : test.serial.skip;
const labs = emulatorLabs(test);
const { bringUp } = labs;

const failed = (r: Report) => r.checks.filter((c) => !c.ok);

const fault = (p: Plan, what: string, args: string[], o: FaultOptions = {}) => applyFault(p, labs.emulator, p.name, parseFault(p, what, args, o));

/**
 * Apply, wait until exactly the expected checks fail (every failure is expected, and
 * each `must` matches one), check that the hints name the fault, clear, green again.
 */
async function breaksExactly(t: ExecutionContext, p: Plan, apply: () => Promise<unknown>, expected: (c: Check) => boolean, must: ((c: Check) => boolean)[]): Promise<void> {
  await apply();
  const ok = (r: Report) => failed(r).every(expected) && must.every((m) => failed(r).some(m));
  const r = await verifyUntil(labs.emulator, p, ok);
  t.true(ok(r), `unexpected failures: ${failed(r).map((c) => `${c.kind} ${c.subject}`).join('; ') || 'none'}`);
  const faults = await readFaults(p.name);
  t.is(faults.length, 1);
  for (const c of failed(r)) t.regex(faultHint(p.name, c.subject, faults)!, new RegExp(faults[0].target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  const { failed: notUndone } = await clearFaults(labs.emulator, p.name);
  t.deepEqual(notUndone, []);
  t.deepEqual(await readFaults(p.name), []);
  const green = await verifyUntil(labs.emulator, p, (x) => x.ok, 20_000);
  t.true(green.ok, `after clear: ${failed(green).map((c) => `${c.kind} ${c.subject}: ${c.observed}`).join('; ')}`);
}

const on = (...devices: string[]) => (c: Check) => devices.some((d) => c.subject.split(/[\s(),:]+/).includes(d));
const kinds = (...k: string[]) => (c: Check) => k.includes(c.kind);
const podsOn = (p: Plan, node: string) => p.pods.filter((x) => x.node === node).map((x) => x.name);

serial('VXLAN lab: link, netem loss, blackhole, VNI, peer ASN, daemon, MTU', async (t) => {
  const p = await bringUp('calico-vxlan', 'tz-fv');
  t.true((await verify(p, labs.emulator)).ok, 'healthy before any fault');

  // The graph follows: all green, then the cable red and marked, the others green.
  const edge = (m: GraphModel, a: string, b: string) => m.edges.find((e) => e.a === a && e.b === b)!;
  const before = graphModel(p, await observeGraph(p, labs.emulator), await readFaults(p.name));
  t.true(before.edges.every((e) => e.state === 'up'), before.edges.filter((e) => e.state !== 'up').map((e) => e.id).join(', '));
  await fault(p, 'link', ['leaf1', 'spine-sw1', 'down']);
  const after = graphModel(p, await observeGraph(p, labs.emulator), await readFaults(p.name));
  t.is(edge(after, 'spine-sw1', 'leaf1').state, 'down');
  t.truthy(edge(after, 'spine-sw1', 'leaf1').fault);
  t.is(edge(after, 'spine-sw2', 'leaf1').state, 'up');
  await clearFaults(labs.emulator, p.name);

  // A fabric link down: its two sessions and the routes that lose a next hop; pods still talk.
  await breaksExactly(t, p, () => fault(p, 'link', ['spine-sw1', 'leaf1', 'down']),
    (c) => kinds('bgp-session', 'route')(c) && (on('leaf1', 'spine-sw1')(c) || c.kind === 'route'),
    [(c) => c.kind === 'bgp-session' && on('leaf1')(c) && on('spine-sw1')(c)]);

  // 100% loss from leaf2 to one node: only the pairs with that node's pod, never a session.
  const l21 = podsOn(p, 'k8s-node-l2-1');
  await breaksExactly(t, p, () => fault(p, 'link', ['leaf2', 'k8s-node-l2-1'], { loss: '100%', from: 'leaf2' }),
    (c) => kinds('ping', 'ttl', 'encapsulation')(c) && (on(...l21, 'k8s-node-l2-1')(c) || c.kind === 'encapsulation'),
    [(c) => c.kind === 'ping' && on(...l21)(c)]);

  // A blackhole for rack 2 on leaf1: the cross-rack pairs (both ways), the route itself.
  const rack1 = p.pods.filter((x) => x.node.includes('-l1-')).map((x) => x.name);
  const rack2 = p.pods.filter((x) => x.node.includes('-l2-')).map((x) => x.name);
  const crossRack = (c: Check) => on(...rack1)(c) && on(...rack2)(c);
  await breaksExactly(t, p, () => fault(p, 'blackhole', ['leaf1', '10.0.102.0/24']),
    (c) => (kinds('ping', 'ttl', 'encapsulation')(c) && (crossRack(c) || c.kind === 'encapsulation')) || (c.kind === 'route' && c.subject.startsWith('leaf1 10.0.102.0/24')),
    [(c) => c.kind === 'ping' && crossRack(c)]);

  // Another VNI on one node: its pods' pairs and the VNI seen on the wire.
  const l11 = podsOn(p, 'k8s-node-l1-1');
  await breaksExactly(t, p, () => fault(p, 'vni', ['k8s-node-l1-1']),
    (c) => kinds('ping', 'ttl', 'encapsulation')(c) && (on(...l11, 'k8s-node-l1-1')(c) || c.kind === 'encapsulation'),
    [(c) => c.kind === 'ping' && on(...l11)(c)]);

  // A wrong remote AS on leaf1 for spine-sw1: that session both ways, routes lose a path.
  // It is in the config bgpd reads, so it is still there after bgpd is restarted.
  await breaksExactly(t, p, async () => {
    await fault(p, 'peer-asn', ['leaf1', 'spine-sw1']);
    await fault(p, 'daemon', ['leaf1', 'bgpd', 'stop']);
    await fault(p, 'daemon', ['leaf1', 'bgpd', 'start']);
  },
    (c) => (c.kind === 'bgp-session' && on('leaf1')(c) && on('spine-sw1')(c)) || c.kind === 'route',
    [(c) => c.kind === 'bgp-session' && on('leaf1')(c) && on('spine-sw1')(c)]);

  // bgpd stopped on leaf2: its sessions, the fabric's routes to and from rack 2 (zebra
  // withdraws them), so the cross-rack pairs; started again it is tracked (new PID).
  await breaksExactly(t, p, async () => {
    await fault(p, 'daemon', ['leaf2', 'bgpd', 'stop']);
    const st = await labs.emulator.status(p.name);
    t.regex(st.devices.find((d) => d.name === 'leaf2')!.detail, /bgpd not running/);
  }, (c) => (kinds('bgp-session', 'bgp-extra')(c) && on('leaf2')(c)) || c.kind === 'route' || (kinds('ping', 'ttl', 'encapsulation')(c) && (crossRack(c) || c.kind === 'encapsulation')),
  [(c) => c.kind === 'bgp-session' && on('leaf2')(c)]);
  const st = await labs.emulator.status(p.name);
  t.true(st.devices.find((d) => d.name === 'leaf2')!.alive, 'restarted bgpd is tracked as alive');

  // MTU 1400 on leaf2's port to k8s-node-l2-2: only that link's mtu check fails (BGP and
  // verify's pings are small); a 1400-byte ping from that node's pod does not get through.
  const pod = podsOn(p, 'k8s-node-l2-2')[0];
  const far = p.pods.find((x) => x.node === 'k8s-node-l1-1')!.ip;
  const mtuLink = (c: Check) => c.kind === 'mtu' && c.subject === 'leaf2 swp4 <-> k8s-node-l2-2 eth0';
  await breaksExactly(t, p, async () => {
    await fault(p, 'mtu', ['leaf2', 'k8s-node-l2-2']);
    const big = await inNs(nsOf(p.name, pod), ['ping', '-c', '1', '-W', '1', '-s', '1400', far]);
    const small = await inNs(nsOf(p.name, pod), ['ping', '-c', '1', '-W', '1', far]);
    t.not(big.exitCode, 0, 'a 1428-byte packet (1478 with VXLAN) does not fit through MTU 1400');
    t.is(small.exitCode, 0);
  }, mtuLink, [mtuLink]);
  t.is((await inNs(nsOf(p.name, pod), ['ping', '-c', '1', '-W', '1', '-s', '1400', far])).exitCode, 0, 'fits again after clear');
});

serial('BGP lab: BIRD stopped on a node, started again and tracked', async (t) => {
  const p = await bringUp('calico-bgp', 'tz-fb');
  t.true((await verifyUntil(labs.emulator, p, (r) => r.ok)).ok, 'healthy before any fault');
  const pods = podsOn(p, 'k8s-node-l2-1');
  await breaksExactly(t, p, () => fault(p, 'daemon', ['k8s-node-l2-1', 'bird', 'stop']),
    (c) => on('k8s-node-l2-1', ...pods)(c) || c.kind === 'route' || c.kind === 'encapsulation',
    [(c) => c.kind === 'bgp-session' && on('k8s-node-l2-1')(c)]);
  t.true((await labs.emulator.status(p.name)).devices.every((d) => d.alive));
});
