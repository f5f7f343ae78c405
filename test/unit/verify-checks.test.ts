// The pure checks of verify against real recorded outputs, healthy and broken: every
// failure must name the session, device or pod pair and say where to look.
import test from 'ava';
import { createHash } from 'node:crypto';
import { ok, frrBgpdDead, fixture, labPlan } from '../fixtures/observed/fixtures.js';
import { readSwitch, readNode, readReach, parseFping } from '../../src/observe/index.js';
import { parseTcpdump } from '../../src/verify/parse/tcpdump.js';
import { emptyObservations, type Observations } from '../../src/verify/checks/observations.js';
import { samplePairs, pairKey } from '../../src/verify/sample.js';
import { sessionChecks, extraSessionChecks } from '../../src/verify/checks/bgp.js';
import { routeChecks } from '../../src/verify/checks/routes.js';
import { pingChecks } from '../../src/verify/checks/ping.js';
import { encapsulationChecks, judgeEncapsulation } from '../../src/verify/checks/encapsulation.js';
import type { Check } from '../../src/verify/types.js';
import type { EncapIntent, Plan } from '../../src/plan/types.js';
import { kernelTables, tableObservations } from '../fixtures/kernel-tables.js';
import { checkGolden } from '../helpers/golden.js';

const find = (checks: Check[], subject: string) => {
  const c = checks.find((x) => x.subject === subject);
  if (!c) throw new Error(`no check "${subject}" in ${checks.map((x) => x.subject).join(' | ')}`);
  return c;
};

test('bgp-session: a spine port down shows leaf1 -> spine-sw1 Active, with the command and the link to look at', async (t) => {
  const plan = await labPlan('calico-vxlan');
  const obs = emptyObservations();
  obs.switches.set('leaf1', readSwitch(ok('frr-leaf1-spine1-link-down.txt'), ok('kernel-routes-leaf1.json')));
  const checks = sessionChecks(plan, obs);
  const down = find(checks, 'leaf1 -> spine-sw1 (172.16.0.0)');
  t.like(down, { kind: 'bgp-session', ok: false, expected: 'Established', observed: 'Active' });
  t.true(down.hint!.includes("`lab exec calico-vxlan leaf1 -- vtysh -c 'show bgp summary'`"));
  t.true(down.hint!.includes('the link leaf1 swp1 <-> spine-sw1 swp1'));
  t.like(find(checks, 'leaf1 -> spine-sw2 (172.16.0.4)'), { ok: true, observed: 'Established' });
  t.is(find(checks, 'spine-sw1 -> leaf1 (172.16.0.1)').observed, 'not observed', 'no observation is never a pass');
});

test('bgp-session: a dead bgpd is named as the observation', async (t) => {
  const plan = await labPlan('calico-vxlan');
  const obs = emptyObservations();
  obs.switches.set('leaf2', readSwitch(frrBgpdDead(), ok('kernel-routes-leaf2-after-flap.json')));
  const c = find(sessionChecks(plan, obs), 'leaf2 -> spine-sw2 (172.16.0.6)');
  t.like(c, { ok: false, observed: 'bgpd is not running' });
  t.like(find(extraSessionChecks(plan, obs), 'leaf2'), { ok: false, observed: 'cannot tell: bgpd is not running' });
});

test('bgp-extra: a configured neighbor outside the intent fails, naming it', async (t) => {
  const plan = await labPlan('calico-vxlan');
  const obs = emptyObservations();
  obs.switches.set('leaf1', readSwitch(ok('frr-leaf1-extra-configured.txt'), ok('kernel-routes-leaf1.json')));
  obs.switches.set('leaf2', readSwitch(ok('frr-leaf2-vxlan-mode.txt'), ok('kernel-routes-leaf1.json')));
  const extra = extraSessionChecks(plan, obs);
  const leaf1 = find(extra, 'leaf1');
  // Recorded while two BIRD nodes were also connected: in VXLAN mode they are extra too.
  t.like(leaf1, {
    kind: 'bgp-extra', ok: false, expected: 'no sessions beyond the intent',
    observed: '10.0.101.100 Established (AS 65101, dynamic), 10.0.101.200 Established (AS 65101, dynamic), 172.16.0.9 Active (AS 65009)',
  });
  t.true(leaf1.hint!.includes('leaf1'));
  t.like(find(extra, 'leaf2'), { ok: true, observed: 'none' });
  t.true(find(sessionChecks(plan, obs), 'leaf1 -> spine-sw1 (172.16.0.0)').ok);
});

test('BGP mode: dynamic node sessions on the leaf; a missing node and an unexpected one', async (t) => {
  const plan = await labPlan('calico-bgp');
  const obs = emptyObservations();
  // Recorded with BIRD on 10.0.101.100 (k8s-master-l1-1's address) and 10.0.101.200 (no node of the plan).
  obs.switches.set('leaf1', readSwitch(ok('frr-leaf1-extra-dynamic.txt'), ok('kernel-routes-leaf1-bgp-mode.json')));
  const sessions = sessionChecks(plan, obs);
  t.like(find(sessions, 'leaf1 -> k8s-master-l1-1 (10.0.101.100)'), { ok: true, observed: 'Established' });
  const missing = find(sessions, 'leaf1 -> k8s-node-l1-1 (10.0.101.101)');
  t.like(missing, { ok: false, observed: 'not connected (no dynamic peer 10.0.101.101)' });
  t.true(missing.hint!.includes('`lab exec calico-bgp k8s-node-l1-1 -- birdc show protocols all`'));
  t.true(missing.hint!.includes('the link leaf1 swp4 <-> k8s-node-l1-1 eth0'));
  t.like(find(extraSessionChecks(plan, obs), 'leaf1'), { ok: false, observed: '10.0.101.200 Established (AS 65101, dynamic)' });
});

test('BGP mode: the node side from BIRD, Established or not', async (t) => {
  const plan = await labPlan('calico-bgp');
  const obs = emptyObservations();
  obs.nodes.set('k8s-master-l1-1', readNode(ok('bird-node-established.txt'), ok('kernel-routes-leaf1.json')));
  obs.nodes.set('k8s-node-l2-1', readNode(ok('bird-node-leaf-down.txt'), ok('kernel-routes-leaf1.json')));
  const sessions = sessionChecks(plan, obs);
  t.like(find(sessions, 'k8s-master-l1-1 -> leaf1 (10.0.101.1)'), { ok: true, observed: 'Established' });
  const down = find(sessions, 'k8s-node-l2-1 -> leaf2 (10.0.102.1)');
  t.like(down, { ok: false, observed: 'Active' });
  t.true(down.hint!.includes("`lab exec calico-bgp leaf2 -- vtysh -c 'show bgp summary'`"));
  t.like(find(extraSessionChecks(plan, obs), 'k8s-master-l1-1'), { ok: true });
});

test('route: ECMP over both spines, and 1 next hop instead of 2 after a spine link went down', async (t) => {
  const plan = await labPlan('calico-vxlan');
  const obs = emptyObservations();
  obs.switches.set('leaf1', readSwitch(ok('frr-leaf1-vxlan-mode.txt'), ok('kernel-routes-leaf1.json')));
  obs.switches.set('leaf2', readSwitch(ok('frr-leaf2-after-flap.txt'), ok('kernel-routes-leaf2-after-flap.json')));
  const routes = routeChecks(plan, obs);
  t.like(find(routes, 'leaf1 10.0.102.0/24'), { ok: true, expected: 'present, 2 next hops via spine-sw1, spine-sw2', observed: 'present, 2 next hops via spine-sw1, spine-sw2' });
  t.like(find(routes, 'leaf1 172.16.255.102/32'), { ok: true });
  t.like(find(routes, 'leaf1 10.64.0.0/12'), { ok: true, expected: 'absent (no route inside 10.64.0.0/12)', observed: 'absent' });
  const ecmp = find(routes, 'leaf2 10.0.101.0/24');
  t.false(ecmp.ok);
  t.is(ecmp.observed, 'present, 1 next hop via spine-sw1 (172.16.0.2 dev swp1); none via spine-sw2 (172.16.0.6)');
  t.true(ecmp.hint!.includes("FRR's RIB has 2 next hops but the kernel forwards over 1"));
  t.true(ecmp.hint!.includes('why: rack of leaf1, ECMP over 2 spines'));
});

test('route: pod blocks in the fabric fail in VXLAN mode; a missing block fails in BGP mode', async (t) => {
  const vxlan = await labPlan('calico-vxlan');
  const obs = emptyObservations();
  obs.switches.set('leaf1', readSwitch(ok('frr-leaf1-bgp-mode.txt'), ok('kernel-routes-leaf1-bgp-mode.json')));
  const leak = find(routeChecks(vxlan, obs), 'leaf1 10.64.0.0/12');
  t.false(leak.ok);
  t.regex(leak.observed, /^10\.64\.0\.0\/26 via 10\.0\.101\.100 dev bridge/);

  const bgp = await labPlan('calico-bgp');
  const obs2 = emptyObservations();
  obs2.switches.set('spine-sw1', readSwitch(ok('frr-spine1-bgp-mode.txt'), ok('kernel-routes-spine1-bgp-mode.json')));
  const routes = routeChecks(bgp, obs2);
  t.like(find(routes, 'spine-sw1 10.64.0.0/26'), { ok: true, observed: 'present, 1 next hop via leaf1' });
  const missing = find(routes, 'spine-sw1 10.64.0.64/26');
  t.like(missing, { ok: false, observed: 'absent', expected: 'present, 1 next hop via leaf1' });
  t.true(missing.hint!.includes('pod block of k8s-node-l1-1'));
  t.true(missing.hint!.includes("`lab exec calico-bgp spine-sw1 -- vtysh -c 'show ip route 10.64.0.64/26'`"));
});

const answered = (file: string) => ({ stdout: fixture(file), stderr: '', exitCode: file.includes('unreachable') ? 1 : 0 });

test('ping and ttl: wrong TTL and no reply fail, naming the pod pair; pairs not observed are unknown', async (t) => {
  const plan = await labPlan('calico-vxlan');
  const obs = emptyObservations();
  obs.sample = samplePairs(plan);
  const [[fromA, pairsA], [fromB, pairsB]] = [...obs.sample.bySource];
  const a = pairsA[0];
  const b = pairsB[0];
  t.true(obs.sample.ttl.has(pairKey(fromA, a.toIp)) && obs.sample.ttl.has(pairKey(fromB, b.toIp)), 'every source reads the TTL of its first target');
  // One ping per target (a provider without fping), the first answered with BGP-mode TTLs.
  obs.reach.set(fromA, readReach(false, pairsA.map((p) => p.toIp), [a.toIp], pairsA.map((_, k) => answered(k === 0 ? 'ping-bgp-cross-rack.txt' : 'ping-vxlan-cross-rack.txt'))));
  obs.reach.set(fromB, readReach(false, pairsB.map((p) => p.toIp), [b.toIp], pairsB.map((_, k) => answered(k === 0 ? 'ping-unreachable.txt' : 'ping-vxlan-cross-rack.txt'))));
  const checks = pingChecks(plan, obs);
  const subjA = `${a.from} -> ${a.to} (${a.toIp})`;
  t.like(checks.find((c) => c.kind === 'ping' && c.subject === subjA), { ok: true, observed: '2/2 replies' });
  const ttl = checks.find((c) => c.kind === 'ttl' && c.subject === subjA)!;
  t.like(ttl, { ok: false, expected: 'ttl=62', observed: 'ttl=59' });
  t.true(ttl.hint!.includes('crossed 5 routers, the mode implies 2'));
  const subjB = `${b.from} -> ${b.to} (${b.toIp})`;
  const lost = checks.find((c) => c.kind === 'ping' && c.subject === subjB)!;
  t.like(lost, { ok: false, expected: 'reply', observed: 'no reply (0/2)' });
  t.true(lost.hint!.includes(`\`lab exec calico-vxlan ${b.from} -- ping -c 3 ${b.toIp}\``));
  t.like(checks.find((c) => c.kind === 'ttl' && c.subject === subjB), { ok: false, observed: 'no reply' });
  // Sources never observed are unknown, not failed.
  const unseen = checks.filter((c) => c.status === 'unknown');
  t.true(unseen.length > 0);
  t.true(unseen.every((c) => c.observed === 'not observed' && !c.subject.startsWith(`${fromA} `) && !c.subject.startsWith(`${fromB} `)));
  t.is(checks.filter((c) => !c.ok && c.status !== 'unknown').length, 3);
});

test('ping: the VXLAN TTL of 62 passes; a timed-out source is unknown with the reason and the host load', async (t) => {
  const plan = await labPlan('calico-vxlan');
  const obs = emptyObservations();
  obs.sample = samplePairs(plan);
  const [[from, pairs], [late, latePairs]] = [...obs.sample.bySource];
  obs.reach.set(from, readReach(false, pairs.map((p) => p.toIp), [pairs[0].toIp], pairs.map(() => answered('ping-vxlan-cross-rack.txt'))));
  obs.reach.set(late, readReach(true, latePairs.map((p) => p.toIp), [], [{ stdout: '', stderr: 'timeout after 5000 ms', exitCode: -1 }]));
  const checks = pingChecks(plan, obs);
  t.like(checks.find((c) => c.kind === 'ttl' && c.subject.startsWith(`${from} -> `))!, { ok: true, status: undefined, observed: 'ttl=62' });
  const cut = checks.find((c) => c.kind === 'ping' && c.subject.startsWith(`${late} -> `))!;
  t.is(cut.status, 'unknown');
  t.regex(cut.observed, /^could not observe \(`fping`: timeout after 5000 ms; host load [\d.]+ on \d+ CPUs\)$/);
});

test('fping: its -q -c summary (recorded with fping 5.1 here) gives sent/received per target', (t) => {
  const text = [
    '10.64.0.1 : xmt/rcv/%loss = 2/2/0%, min/avg/max = 0.020/0.030/0.039',
    '10.64.0.66  : xmt/rcv/%loss = 2/0/100%',
  ].join('\n');
  t.deepEqual([...parseFping(text)], [['10.64.0.1', { sent: 2, received: 2 }], ['10.64.0.66', { sent: 2, received: 0 }]]);
  const r = readReach(true, ['10.64.0.1', '10.64.0.66'], ['10.64.0.1'], [
    { stdout: '', stderr: text, exitCode: 1 },
    { stdout: fixture('ping-vxlan-cross-rack.txt'), stderr: '', exitCode: 0 },
  ]);
  t.true(r.ok);
  if (r.ok) {
    t.deepEqual(r.value.replies.get('10.64.0.66'), { sent: 2, received: 0 });
    t.deepEqual(r.value.ttls.get('10.64.0.1'), [62, 62]);
  }
  // fping that could not run as asked (exit 2+): a real answer from the pod, not a timeout.
  t.like(readReach(true, ['10.64.0.1'], [], [{ stdout: '', stderr: 'fping: can\'t create socket', exitCode: 4 }]), { ok: false, error: "fping: fping: can't create socket" });
});

// The recorded pair: p1 (10.64.0.1) on n1 (10.0.101.100) pinging p2 (10.68.0.1) on n2 (10.0.102.101).
const recorded = (kind: EncapIntent['kind'], vni = 4096): EncapIntent => ({
  kind, ...(kind === 'vxlan' ? { vni, port: 4789 } : {}), node: 'n1', iface: 'eth0', from: 'p1', to: 'p2',
  fromIp: '10.64.0.1', toIp: '10.68.0.1', outerSrc: '10.0.101.100', outerDst: '10.0.102.101',
});
const vxlanWire = parseTcpdump(fixture('tcpdump-vxlan.txt'));
const plainWire = parseTcpdump(fixture('tcpdump-plain-icmp.txt'));

test('encapsulation: VXLAN with the right VNI and the pod addresses inside', (t) => {
  t.deepEqual(judgeEncapsulation(recorded('vxlan'), vxlanWire, 300), {
    ok: true, observed: 'VXLAN vni 4096, 10.0.101.100 > 10.0.102.101:4789, inside 10.64.0.1 > 10.68.0.1 ICMP echo request',
  });
});

test('encapsulation: no VXLAN seen, a wrong VNI, nothing at all', (t) => {
  t.deepEqual(judgeEncapsulation(recorded('vxlan'), plainWire, 300), {
    ok: false, observed: 'plain 10.64.0.1 > 10.68.0.1 ICMP echo request (not encapsulated)',
  });
  t.like(judgeEncapsulation(recorded('vxlan', 4097), vxlanWire, 300), { ok: false, observed: 'VXLAN vni 4096, 10.0.101.100 > 10.0.102.101:4789, inside 10.64.0.1 > 10.68.0.1 ICMP echo request' });
  t.deepEqual(judgeEncapsulation(recorded('vxlan'), [], 3000), { ok: false, observed: 'no echo request 10.64.0.1 > 10.68.0.1 seen in 3.0 s (0 other packets)' });
});

test('encapsulation none (BGP mode): plain ICMP passes, VXLAN on the wire fails', (t) => {
  t.deepEqual(judgeEncapsulation(recorded('none'), plainWire, 300), { ok: true, observed: 'plain 10.64.0.1 > 10.68.0.1 ICMP echo request' });
  const wrong = judgeEncapsulation(recorded('none'), vxlanWire, 300);
  t.false(wrong.ok);
  t.regex(wrong.observed, /^VXLAN vni 4096, .* \(4 packets on UDP port 4789\)$/);
});

test('encapsulation check: subject, expectation and the capture command to try', async (t) => {
  const plan = await labPlan('calico-vxlan');
  const obs = emptyObservations();
  obs.capture = { ok: true, value: { packets: plainWire, durationMs: 300 } };
  const [c] = encapsulationChecks(plan, obs);
  const e = plan.intent.encapsulation!;
  t.is(c.subject, `${e.node} eth0: ${e.from} -> ${e.to}`);
  t.is(c.expected, `VXLAN vni 4096, ${e.outerSrc} > ${e.outerDst}:4789, inside ${e.fromIp} > ${e.toIp} ICMP echo request`);
  t.false(c.ok);
  // Only the probed pair and its two nodes: other probes crossing eth0 must not fill the capture.
  t.true(c.hint!.includes(`\`lab capture calico-vxlan ${e.node} eth0 -- -n -e '(udp port 4789 and host ${e.outerSrc} and host ${e.outerDst}) or (icmp and host ${e.fromIp} and host ${e.toIp})'\``));
});

test('route on a spine of a shared-AS fabric (RFC 7938): an absent leaf prefix says no valley can replace it', async (t) => {
  const plan = await labPlan('rfc7938');
  const obs = emptyObservations();
  // spine-sw1 cut from leaf1: only leaf2's own prefixes left (as seen live on rfc7938).
  obs.switches.set('spine-sw1', readSwitch(ok('frr-spine1-vxlan-mode.txt'), { stdout: JSON.stringify([{ dst: '10.0.102.0/24', gateway: '172.16.0.3', dev: 'swp2', protocol: 'bgp' }]), stderr: '', exitCode: 0 }));
  const routes = routeChecks(plan, obs);
  const lost = find(routes, 'spine-sw1 10.0.101.0/24');
  t.like(lost, { ok: false, observed: 'absent', expected: 'present, 1 next hop via leaf1' });
  t.true(lost.hint!.startsWith('the spines share AS 65000: spine-sw1 drops any path through another leaf (it holds AS 65000), so without its session to leaf1'), lost.hint);
  t.like(find(routes, 'spine-sw1 10.0.102.0/24'), { ok: true, observed: 'present, 1 next hop via leaf2' });
  // The same table in the unique-AS design: no such sentence.
  t.false(find(routeChecks(await labPlan('calico-bgp'), obs), 'spine-sw1 10.0.101.0/24').hint!.includes('share AS'));
});

// Route checks on tables synthesized from the plan (test/fixtures/kernel-tables.ts): as
// intended, every check passes; damaged (missing, blackhole, a foreign neighbour or a
// valley, an address no device holds, a bare device, an ECMP member short or one too
// many, routes inside an absent prefix, RIB out of sync, devices not observed or not
// answering), every check equals the reviewed golden file, byte for byte, even after the
// same plan was judged on other observations. Judged device by device on copies of the
// plan, as the convergence wait does, the checks are the same.
const judgeByDevice = (plan: Plan, obs: Observations) => {
  const devices = [...new Set(plan.intent.routes.map((r) => r.device))];
  return new Map(devices.map((d) => [d, routeChecks({ ...plan, intent: { ...plan.intent, routes: plan.intent.routes.filter((r) => r.device === d) } }, obs)]));
};
const groupByDevice = (checks: Check[]) => {
  const out = new Map<string, Check[]>();
  for (const c of checks) out.set(c.about!.device!, [...(out.get(c.about!.device!) ?? []), c]);
  return out;
};

for (const name of ['calico-bgp', 'calico-vxlan', 'rfc7938']) {
  test(`route: ${name} on synthesized tables, all passing as intended, damaged as test/golden/route-checks/${name}.json`, async (t) => {
    const plan = await labPlan(name);
    // Judged first with nothing observed (as convergence judges round after round): what one judgement keeps must not leak into the next.
    t.true(routeChecks(plan, emptyObservations()).every((c) => c.status === 'unknown' && c.observed === 'not observed'));
    // A copy under another name (a workshop instance) is told with its own name.
    t.true(routeChecks({ ...plan, name: 'other' }, emptyObservations()).every((c) => c.hint!.includes('`lab exec other ')));
    const healthy = routeChecks(plan, tableObservations(plan, kernelTables(plan)));
    t.is(healthy.length, plan.intent.routes.length);
    t.deepEqual(healthy.filter((c) => !c.ok), []);
    const obs = tableObservations(plan, kernelTables(plan, true), true);
    const damaged = routeChecks(plan, obs);
    t.true(damaged.filter((c) => !c.ok).length > damaged.length / 3);
    t.deepEqual(judgeByDevice(plan, obs), groupByDevice(damaged));
    checkGolden(t, 'route-checks', [{ path: `${name}.json`, content: `${JSON.stringify(damaged, null, 1)}\n` }], [`${name}.json`]);
  });
}

test('route: dc-256 on synthesized tables, as intended and damaged: the digest of every check as test/golden/route-checks/dc-256.sha256', async (t) => {
  const plan = await labPlan('dc-256');
  const healthy = routeChecks(plan, tableObservations(plan, kernelTables(plan)));
  t.is(healthy.filter((c) => c.ok).length, plan.intent.routes.length);
  const obs = tableObservations(plan, kernelTables(plan, true), true);
  const damaged = routeChecks(plan, obs);
  const digest = (checks: Check[]) => createHash('sha256').update(JSON.stringify(checks)).digest('hex');
  checkGolden(t, 'route-checks', [{ path: 'dc-256.sha256', content: `${digest(healthy)} healthy\n${digest(damaged)} damaged\n` }], ['dc-256.sha256']);
});
