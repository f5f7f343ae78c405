// Whole verify runs replayed from real emulator labs (recorded by
// test/integration/verify.test.ts with RECORD_OBSERVED=1): healthy, broken by real
// faults, and broken by editing one recorded answer.
import test from 'ava';
import { pingArgv } from '../../src/observe/index.js';
import path from 'node:path';
import { loadLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import { allPings } from '../../src/plan/intent.js';
import { verify, formatReport, type Report } from '../../src/verify/index.js';
import { FRR_SESSIONS_QUERY, RIB_QUERY, LINKS_QUERY } from '../../src/observe/index.js';
import { observedDir, ok } from '../fixtures/observed/fixtures.js';
import { bgpPrefixQuery } from '../../src/observe/device.js';
import { replaying } from '../fixtures/observed/replay.js';

const labPlan = async (name: string) => planOf(await loadLab(path.join(observedDir, `${name}.yaml`)));
const recordingOf = (name: string) => path.join(observedDir, `lab-${name}.json`);
const failed = (r: Report) => r.checks.filter((c) => !c.ok);
const check = (r: Report, kind: string, subject: string) => r.checks.find((c) => c.kind === kind && c.subject === subject);

test('calico-vxlan healthy: 78 checks pass (12 pod pairs, a TTL per source pod, 13 links); one vtysh call per switch, for its sessions (no RIB)', async (t) => {
  const plan = await labPlan('vfy-vxlan');
  const provider = replaying(recordingOf('vxlan-healthy'));
  const r = await verify(plan, provider);
  t.deepEqual(failed(r), []);
  t.true(r.ok);
  t.deepEqual(r.summary, { passed: 78, failed: 0, unknown: 0 });
  t.deepEqual(r.sample, { pairs: 12, of: 12 });
  const vtysh = provider.asked.filter((k) => k.includes(': vtysh'));
  t.deepEqual(vtysh.sort(), ['leaf1', 'leaf2', 'spine-sw1', 'spine-sw2'].map((s) => `${s}: ${FRR_SESSIONS_QUERY.join(' ')}`));
  t.is(formatReport(r, { color: false }).split('\n').pop(), '✔ 78 checks passed');
});

test('calico-vxlan with spine-sw1 swp1 down: the session and the ECMP routes fail, by name', async (t) => {
  const r = await verify(await labPlan('vfy-vxlan'), replaying(recordingOf('vxlan-spine-port-down')));
  t.false(r.ok);
  t.like(check(r, 'bgp-session', 'leaf1 -> spine-sw1 (172.16.0.0)'), { ok: false, expected: 'Established' });
  t.like(check(r, 'bgp-session', 'spine-sw1 -> leaf1 (172.16.0.1)'), { ok: false });
  t.is(check(r, 'route', 'leaf1 10.0.102.0/24')!.observed, 'present, 1 next hop via spine-sw2 (172.16.0.4 dev swp2); none via spine-sw1 (172.16.0.0)');
  const text = formatReport(r, { color: false });
  t.true(text.includes("check `lab exec vfy-vxlan leaf1 -- vtysh -c 'show bgp summary'` and the link leaf1 swp1 <-> spine-sw1 swp1"));
  t.is(text.split('\n').pop(), `✘ ${r.summary.failed} of 78 checks failed`);
});

test('calico-vxlan with leaf2 bgpd killed: observed "bgpd is not running"', async (t) => {
  const r = await verify(await labPlan('vfy-vxlan'), replaying(recordingOf('vxlan-bgpd-dead')));
  t.like(check(r, 'bgp-session', 'leaf2 -> spine-sw2 (172.16.0.6)'), { ok: false, observed: 'bgpd is not running' });
  t.like(check(r, 'bgp-extra', 'leaf2'), { ok: false });
});

test('a wrong reply TTL fails the ttl check of that pair only', async (t) => {
  const plan = await labPlan('vfy-vxlan');
  const [p] = allPings(plan);
  const key = `${p.from}: ${pingArgv(p.toIp).join(' ')}`;
  const r = await verify(plan, replaying(recordingOf('vxlan-healthy'), (d) => {
    d.execs[key].stdout = d.execs[key].stdout.replaceAll('ttl=62', 'ttl=61');
  }));
  t.deepEqual(failed(r).map((c) => [c.kind, c.subject, c.observed]), [['ttl', `${p.from} -> ${p.to} (${p.toIp})`, 'ttl=61']]);
});

test('no VXLAN on the wire fails the encapsulation check', async (t) => {
  const plan = await labPlan('vfy-vxlan');
  const r = await verify(plan, replaying(recordingOf('vxlan-healthy'), (d) => {
    for (const c of Object.values(d.captures)) { c.lines = []; c.result.stdout = ''; }
  }));
  const [c] = failed(r);
  t.is(failed(r).length, 1);
  t.is(c.kind, 'encapsulation');
  t.regex(c.observed, /^no echo request 10\.64\.0\.65 > 10\.64\.0\.193 seen in/);
});

test('calico-bgp healthy: 113 checks pass, TTL 59 across racks, plain ICMP on the wire', async (t) => {
  const r = await verify(await labPlan('vfy-bgp'), replaying(recordingOf('bgp-healthy')));
  t.deepEqual(failed(r), []);
  t.is(r.checks.length, 113);
  t.true(r.checks.some((c) => c.kind === 'ttl' && c.observed === 'ttl=59'));
  t.regex(r.checks.find((c) => c.kind === 'encapsulation')!.observed, /^plain 10\.64\./);
});

test('calico-bgp with BIRD stopped on k8s-node-l2-1: its sessions and block fail', async (t) => {
  const plan = await labPlan('vfy-bgp');
  const block = plan.nodes.find((n) => n.name === 'k8s-node-l2-1')!.blocks[0];
  const r = await verify(plan, replaying(recordingOf('bgp-bird-dead')));
  t.like(check(r, 'bgp-session', 'leaf2 -> k8s-node-l2-1 (10.0.102.101)'), { ok: false, observed: 'not connected (no dynamic peer 10.0.102.101)' });
  t.like(check(r, 'bgp-session', 'k8s-node-l2-1 -> leaf2 (10.0.102.1)'), { ok: false });
  t.like(check(r, 'route', `spine-sw2 ${block}`), { ok: false, observed: 'absent' });
});

// An MTU mismatch breaks nothing verify's small packets see: only the link's mtu check,
// read from the interfaces listed in the same exec as the routes (no exec added).
const setMtu = (d: { execs: Record<string, { stdout: string }> }, device: string, iface: string, mtu: number) => {
  const key = `${device}: ${LINKS_QUERY.join(' ')}`;
  const links = JSON.parse(d.execs[key].stdout) as { ifname: string; mtu: number }[];
  links.find((l) => l.ifname === iface)!.mtu = mtu;
  d.execs[key].stdout = JSON.stringify(links);
};

test('an MTU mismatch on one end of a link fails that link\'s mtu check only, naming both ends', async (t) => {
  const plan = await labPlan('vfy-vxlan');
  const base = replaying(recordingOf('vxlan-healthy'), (d) => setMtu(d, 'leaf2', 'swp4', 1400));
  const batches = new Map<string, string[][][]>();
  const provider = { ...base, execBatch(lab: string, device: string, commands: string[][]) { batches.set(device, [...batches.get(device) ?? [], commands]); return base.execBatch(lab, device, commands); } };
  const r = await verify(plan, provider);
  t.deepEqual(failed(r).map((c) => [c.kind, c.subject, c.observed]), [['mtu', 'leaf2 swp4 <-> k8s-node-l2-2 eth0', 'leaf2 swp4 1400, k8s-node-l2-2 eth0 1500']]);
  t.regex(failed(r)[0].hint!, /larger than 1400 bytes/);
  t.is(r.checks.filter((c) => c.kind === 'mtu').length, plan.links.length, 'every cable of the lab, fabric, access and pod links');
  t.like(check(r, 'mtu', 'spine-sw1 swp1 <-> leaf1 swp1'), { ok: true, observed: '1500 at both ends' });
  const pod = plan.pods[0];
  t.like(check(r, 'mtu', `${pod.node} ${plan.links.find((l) => l.b.device === pod.name)!.a.iface} <-> ${pod.name} eth0`), { ok: true, observed: '1450 at both ends' });
  // One exec per device, as before: the interfaces come in the same batch as the routes.
  t.deepEqual(batches.get('leaf2'), [[FRR_SESSIONS_QUERY, ['ip', '-j', 'route', 'show'], LINKS_QUERY]]);
  // (The capture's pinger is the one extra exec, as before.)
  t.true([...batches.values()].every((b) => b.filter((cmds) => cmds.some((c) => c.join(' ') === LINKS_QUERY.join(' '))).length === 1));
});

test('a pod\'s side of its veth with another MTU is named too (read in the pod\'s probe exec)', async (t) => {
  const plan = await labPlan('vfy-vxlan');
  const pod = plan.pods[1];
  const r = await verify(plan, replaying(recordingOf('vxlan-healthy'), (d) => setMtu(d, pod.name, 'eth0', 1300)));
  t.deepEqual(failed(r).map((c) => c.kind), ['mtu']);
  t.regex(failed(r)[0].observed, new RegExp(`${pod.name} eth0 1300$`));
});

test('calico-vxlan with spine-sw1 swp1 down: spine-sw1 reaches leaf1 through leaf2, a valley, named as such', async (t) => {
  const provider = replaying(recordingOf('vxlan-spine-port-down'));
  const plan = await labPlan('vfy-vxlan');
  const r = await verify(plan, provider);
  const valley = check(r, 'route', 'spine-sw1 10.0.101.0/24')!;
  // FRR's RIB is read where it can explain something: of the switches with a failed route only.
  const switches = new Set(plan.switches.map((x) => x.name));
  const ribOf = new Set(r.checks.filter((c) => c.kind === 'route' && !c.ok && switches.has(c.about!.device!)).map((c) => c.about!.device!));
  t.true(ribOf.size > 0 && ribOf.size < switches.size);
  t.deepEqual(provider.asked.filter((k) => k.endsWith(`: ${RIB_QUERY.join(' ')}`)).map((k) => k.split(':')[0]).sort(), [...ribOf].sort());
  t.like(valley, { ok: false, status: 'fail', expected: 'present, 1 next hop via leaf1', about: { device: 'spine-sw1', prefix: '10.0.101.0/24' } });
  t.is(valley.observed, 'valley path: via leaf2 (172.16.0.3 dev swp2), not leaf1 (down to a leaf and up again through another spine)');
  t.deepEqual(valley.nextHops, [{ ip: '172.16.0.3', dev: 'swp2', device: 'leaf2' }]);
  t.true(valley.hint!.includes('leaf2 carries traffic between spines'), valley.hint);
  t.true(valley.hint!.includes("`lab exec vfy-vxlan spine-sw1 -- vtysh -c 'show bgp ipv4 unicast 10.0.101.0/24'`"), valley.hint);
  t.true(valley.hint!.includes('the link spine-sw1 swp1 <-> leaf1 swp1'), valley.hint);
  // Its own rack's neighbour, leaf2, is still reached directly: that one passes, with its next hop.
  t.like(check(r, 'route', 'spine-sw1 10.0.102.0/24'), { ok: true, observed: 'present, 1 next hop via leaf2', nextHops: [{ ip: '172.16.0.3', dev: 'swp2', device: 'leaf2' }] });
  const json = JSON.parse(JSON.stringify(r)) as Report;
  t.deepEqual(Object.keys(check(json, 'route', 'spine-sw1 10.0.102.0/24')!), ['kind', 'subject', 'ok', 'status', 'expected', 'observed', 'about', 'nextHops']);
});

test('a valley\'s AS path is asked of FRR (one vtysh call, only for the diverted prefixes) and shown', async (t) => {
  const plan = await labPlan('vfy-vxlan');
  const query = `spine-sw1: ${bgpPrefixQuery(['10.0.101.0/24', '172.16.255.101/32']).join(' ')}`;
  const provider = replaying(recordingOf('vxlan-spine-port-down'), (d) => { d.execs[query] = ok('frr-spine1-valley-paths.txt'); });
  const r = await verify(plan, provider);
  t.is(check(r, 'route', 'spine-sw1 10.0.101.0/24')!.observed, 'valley path: via leaf2 (172.16.0.3 dev swp2), AS path 65102 65002 65101, not leaf1 (down to a leaf and up again through another spine)');
  t.regex(check(r, 'route', 'spine-sw1 172.16.255.101/32')!.observed, /AS path 65102 65002 65101/);
  t.deepEqual(provider.asked.filter((k) => k.includes('show bgp ipv4 unicast')), [query], 'asked once, of spine-sw1 only');
  // A lab as intended asks nothing more than before.
  const healthy = replaying(recordingOf('vxlan-healthy'));
  await verify(plan, healthy);
  t.false(healthy.asked.some((k) => k.includes('show bgp ipv4 unicast')));
});

test('a pod whose probes could not run: its cable\'s MTU is unknown, not failed', async (t) => {
  const plan = await labPlan('vfy-vxlan');
  const pod = plan.pods[2];
  const r = await verify(plan, replaying(recordingOf('vxlan-healthy'), (d) => {
    for (const [k, v] of Object.entries(d.execs)) if (k.startsWith(`${pod.name}: fping`)) Object.assign(v, { exitCode: 4, stderr: 'fping: can\'t create socket' });
  }));
  const mtu = r.checks.filter((c) => c.kind === 'mtu' && c.subject.includes(pod.name));
  t.is(mtu.length, 1);
  t.like(mtu[0], { status: 'unknown' });
  t.regex(mtu[0].observed, /^not read \(fping: /);
});
