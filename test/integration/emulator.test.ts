// The emulator brings up the shipped labs for real (root: namespaces, FRR, BIRD, kernel
// VXLAN) and what it built is checked with raw commands, never through verify. Each
// lab runs under a test name, then `down` must leave nothing behind.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import type { Plan } from '../../src/plan/types.js';
import { remoteBlocks } from '../../src/plan/cluster.js';
import type { Provider } from '../../src/providers/types.js';
import {
  artifactsFor, bgpPeers, inNs, isRoot, leftovers, loadEmulator, nsOf, pingTtl, planAs, processesMentioning,
  recordedPids, recordingProgress, removeTempDirs, stateRoot, waitUntilGone,
} from './emulator-helpers.js';

const serial = isRoot ? test.serial : test.serial.skip;
let emulator: Provider;
const up: string[] = [];

test.before(async () => {
  if (!isRoot) return;
  if (!stateRoot.includes('emulator-it-')) throw new Error(`tests must use a private state root, not ${stateRoot}`);
  emulator = await loadEmulator();
});

test.after.always(async () => {
  if (!isRoot) return;
  for (const lab of up) await emulator.down(lab).catch(() => undefined);
  await removeTempDirs();
});

async function bringUp(t: ExecutionContext, lab: string, name: string): Promise<Plan> {
  const p = await planAs(lab, name);
  const dir = await artifactsFor(p);
  const progress = recordingProgress();
  up.push(name);
  const t0 = performance.now();
  await emulator.up(p, dir, progress);
  t.log(`up ${lab} in ${Math.round(performance.now() - t0)} ms`, progress.phases);
  return p;
}

async function downAndCheckNothingLeft(t: ExecutionContext, p: Plan): Promise<void> {
  const name = p.name;
  const pids = [...await recordedPids(name, stateRoot), ...await processesMentioning(name)];
  t.true(pids.length > 0 || !p.switches.some((x) => x.bgp), 'the state records the daemons');
  t.true((await leftovers(name, stateRoot, pids)).length > 0, 'before down the lab exists');
  const t0 = performance.now();
  await emulator.down(name);
  t.log(`down in ${Math.round(performance.now() - t0)} ms`);
  up.splice(up.indexOf(name), 1);
  t.deepEqual(await leftovers(name, stateRoot, pids), []);
  t.deepEqual(await processesMentioning(name), []);
}

const rackOf = (p: Plan, node: string) => p.nodes.find((n) => n.name === node)!.rack;

/** A pod pair on different nodes of different racks (or just different nodes on a LAN). */
function crossPair(p: Plan) {
  for (const a of p.pods) {
    for (const b of p.pods) {
      if (a.node !== b.node && (p.underlay === 'lan' || rackOf(p, a.node) !== rackOf(p, b.node))) return { a, b };
    }
  }
  throw new Error('no pod pair across racks');
}

serial('calico-vxlan: leaf sessions, pods ping across racks with ttl 62 over VXLAN vni 4096; down leaves nothing', async (t) => {
  const name = 'emt-vxlan';
  const p = await bringUp(t, 'calico-vxlan', name);

  // leaf1 has exactly its two spine sessions (VXLAN mode: BGP off on nodes).
  t.deepEqual(await bgpPeers(name, 'leaf1'), { '172.16.0.0': 'Established', '172.16.0.4': 'Established' });

  const { a, b } = crossPair(p);
  t.is(await pingTtl(name, a.name, b.ip), 62);

  // tcpdump on the sender node's eth0 while the pod pings: VXLAN with the inner addresses.
  const node = p.nodes.find((n) => n.name === a.node)!;
  const peer = p.nodes.find((n) => n.name === b.node)!;
  const dump = execa('ip', ['netns', 'exec', nsOf(name, a.node), 'tcpdump', '-l', '-n', '-i', 'eth0', '-c', '2', 'udp', 'port', '4789'],
    { reject: false, timeout: 10_000 });
  await Promise.race([dump, new Promise<void>((resolve) => dump.stderr!.on('data', (d: Buffer) => { if (d.toString().includes('listening on')) resolve(); }))]);
  t.is(await pingTtl(name, a.name, b.ip), 62);
  const out = (await dump).stdout;
  t.regex(out, new RegExp(`IP ${node.addr.ip.replace(/\./g, '\\.')}\\.\\d+ > ${peer.addr.ip.replace(/\./g, '\\.')}\\.4789: VXLAN, flags \\[I\\] \\(0x08\\), vni 4096`));
  t.regex(out, new RegExp(`IP ${a.ip.replace(/\./g, '\\.')} > ${b.ip.replace(/\./g, '\\.')}: ICMP echo request`));

  // Felix's dataplane on the node, as Felix programs it.
  const routes = (await inNs(nsOf(name, a.node), ['ip', 'route', 'show'])).stdout;
  const remote = remoteBlocks(p.nodes, node).find((r) => r.node === b.node)!;
  t.true(routes.includes(`${remote.block} via ${remote.vtep!.ip} dev vxlan.calico proto 80 onlink`), routes);
  t.true(routes.includes(`blackhole ${node.blocks[0]}`), routes);
  const fdb = (await execa('bridge', ['-n', nsOf(name, a.node), 'fdb', 'show', 'dev', 'vxlan.calico'])).stdout;
  t.true(fdb.includes(`${remote.vtep!.mac} dst ${remote.nodeIp} self permanent`), fdb);

  // No pod prefix on any switch.
  for (const sw of p.switches) {
    const rib = (await inNs(nsOf(name, sw.name), ['ip', 'route', 'show'])).stdout;
    t.false(rib.includes('10.64.'), `${sw.name}: ${rib}`);
  }

  await downAndCheckNothingLeft(t, p);
});

serial('calico-bgp: every switch routes every pod block, cross-rack ping ttl 59, BIRD sessions up; down leaves nothing', async (t) => {
  const name = 'emt-bgp';
  const p = await bringUp(t, 'calico-bgp', name);
  const blocks = p.nodes.flatMap((n) => n.blocks);
  for (const sw of p.switches) {
    const rib = (await inNs(nsOf(name, sw.name), ['ip', 'route', 'show'])).stdout;
    for (const block of blocks) t.true(rib.includes(block), `${sw.name} lacks ${block}`);
  }
  const leaf1Peers = await bgpPeers(name, 'leaf1');
  const rack1 = p.nodes.filter((n) => n.rack === 'leaf1');
  t.is(Object.keys(leaf1Peers).length, 2 + rack1.length);
  t.true(Object.values(leaf1Peers).every((s) => s === 'Established'));

  const { a, b } = crossPair(p);
  t.is(await pingTtl(name, a.name, b.ip), 59);
  const sameRack = p.pods.find((x) => x.node !== a.node && rackOf(p, x.node) === rackOf(p, a.node));
  if (sameRack) t.is(await pingTtl(name, a.name, sameRack.ip), 62);

  // The node's BIRD, through its control socket.
  const birdc = await emulator.exec(name, a.node, ['birdc', 'show', 'protocols']);
  t.is(birdc.exitCode, 0, birdc.stderr);
  t.regex(birdc.stdout, /Node_10_0_10\d_1\s+BGP\s+.*Established/);

  await builtinsAnswerAsThePrograms(t, p, a, b.ip);
  await downAndCheckNothingLeft(t, p);
});

/** Counters and clocks, which differ between any two reads. */
function steady(doc: unknown): unknown {
  if (Array.isArray(doc)) return doc.map(steady);
  if (doc && typeof doc === 'object') {
    return Object.fromEntries(Object.entries(doc).filter(([k]) => !/uptime|epoch|msec|msgRcvd|msgSent|tableVersion|^version$|lastUpdate/i.test(k)).map(([k, v]) => [k, steady(v)]));
  }
  return doc;
}

/**
 * The observers' vtysh and TTL pings, answered by the exec helper (builtins.ts), against
 * the real programs run in the same namespaces: the same documents, TTLs and exit codes,
 * and the same words and code once the daemon is gone (done last: bgpd stays down).
 */
async function builtinsAnswerAsThePrograms(t: ExecutionContext, p: Plan, a: Plan['pods'][number], toIp: string): Promise<void> {
  const { splitJsonDocuments } = await import('../../src/verify/parse/frr.js');
  const { parsePing } = await import('../../src/verify/parse/ping.js');
  const { pingArgv } = await import('../../src/observe/reach.js');
  const { bgpPrefixQuery, FRR_QUERY, LINKS_QUERY } = await import('../../src/observe/device.js');
  const name = p.name;
  const leaf = nsOf(name, 'leaf1');
  const block = p.nodes.find((n) => n.rack === 'leaf2')!.blocks[0];
  for (const query of [FRR_QUERY, bgpPrefixQuery([block])]) {
    // BGP may still be settling (a path learnt again between the two reads): up to three
    // pairs of reads, and the last pair must agree.
    for (let attempt = 1; ; attempt++) {
      const [mine] = await emulator.execBatch(name, 'leaf1', [query]);
      const real = await inNs(leaf, ['vtysh', '-N', leaf, ...query.slice(1)]);
      t.is(mine.exitCode, 0, mine.stderr);
      t.is(real.exitCode, 0, real.stderr);
      const docs = splitJsonDocuments(mine.stdout);
      t.is(docs.length, (query.length - 1) / 2, query.join(' '));
      const same = JSON.stringify(steady(docs)) === JSON.stringify(steady(splitJsonDocuments(real.stdout)));
      if (!same && attempt < 3) continue;
      t.deepEqual(steady(docs), steady(splitJsonDocuments(real.stdout)), query.join(' '));
      break;
    }
  }
  // A pod's TTL probes: one across racks, one to an address of the pod range nobody holds.
  const nobody = p.nodes.find((n) => n.name !== a.node)!.blocks[0].replace(/\.\d+\/\d+$/, '.62');
  for (const ip of [toIp, nobody]) {
    const [mine] = await emulator.execBatch(name, a.name, [pingArgv(ip)]);
    const real = await inNs(nsOf(name, a.name), pingArgv(ip));
    const [m, r] = [parsePing(mine.stdout), parsePing(real.stdout)];
    t.deepEqual({ code: mine.exitCode, sent: m.sent, received: m.received, ttls: m.ttls }, { code: real.exitCode!, sent: r.sent, received: r.received, ttls: r.ttls }, `ping ${ip}`);
  }
  t.is(parsePing((await emulator.execBatch(name, a.name, [pingArgv(toIp)]))[0].stdout).ttls[0], 59);
  // Interfaces of a switch, a node and a pod: the fields the observers read, as ip prints them.
  for (const device of ['leaf1', a.node, a.name]) {
    const [mine] = await emulator.execBatch(name, device, [LINKS_QUERY]);
    const real = await inNs(nsOf(name, device), LINKS_QUERY);
    t.is(mine.exitCode, 0, mine.stderr);
    const fields = (text: string) => (JSON.parse(text) as Record<string, unknown>[]).map((l) => ({ ifindex: l.ifindex, ifname: l.ifname, flags: l.flags, mtu: l.mtu }));
    t.deepEqual(fields(mine.stdout), fields(real.stdout), device);
    t.true(fields(mine.stdout).length >= 2, device);
  }
  // bgpd stopped: both say so, with exit code 1 (zebra's answer first, as vtysh prints it).
  const pid = Number((await readFile(`/var/run/frr/${leaf}/bgpd.pid`, 'utf8')).trim());
  process.kill(pid, 'SIGTERM');
  await waitUntilGone(pid);
  const [mine] = await emulator.execBatch(name, 'leaf1', [FRR_QUERY]);
  const real = await inNs(leaf, ['vtysh', '-N', leaf, ...FRR_QUERY.slice(1)]);
  t.deepEqual({ code: mine.exitCode, stderr: mine.stderr, docs: steady(splitJsonDocuments(mine.stdout)) },
    { code: real.exitCode!, stderr: real.stderr, docs: steady(splitJsonDocuments(real.stdout)) });
  t.is(mine.stderr, 'bgpd is not running');
}

/**
 * Every connection from a pod to its own Service is answered, by itself too (the bridge
 * port in hairpin mode), masqueraded to its node's bridge address as kube-proxy does.
 * Without hairpin one connection in four timed out (4 endpoints) and verify's Service
 * check failed now and then (CI, --instances 3).
 */
async function hairpin(t: ExecutionContext, p: Plan): Promise<void> {
  const { probeList } = await import('../../src/policy/probe.js');
  t.true(p.services.length > 0, 'the lab has a Service');
  for (const s of p.services) {
    const self = p.pods.find((x) => x.name === s.endpoints[0].pod)!;
    const results = await probeList(emulator, p.name, self.name, Array(40).fill(`${s.clusterIP}:${s.ports[0].port}`), 3);
    t.deepEqual(results.filter((r) => !r.ok), [], `${self.name} -> ${s.clusterIP}`);
    const answers = results.flatMap((r) => r.ok ? [r.answer] : []);
    const gateway = p.nodes.find((n) => n.name === self.node)!.bridge!.addr.ip;
    // 40 tries over N <= 4 endpoints miss this one with odds at most (3/4)^40, about 1e-5.
    t.true(answers.includes(`${self.name} ${gateway}`), answers.join(', '));
  }
}

/**
 * Half of a Service's endpoints deaf on its port (one on each node, the client's own pod
 * spared): both nodes still answer, so only the second look can tell. verify's Service
 * check must fail, saying not every endpoint answers, and pass again once they hear.
 * Each verify catches it with odds (1 - 2^-8)^2 (both rounds of 8 meet a deaf one); up to
 * three verifies are asked (all three miss with odds below 1e-6).
 */
async function deafEndpoints(t: ExecutionContext, p: Plan): Promise<void> {
  const { serviceProbes, verifyWithServices } = await import('../../src/policy/verify.js');
  const s = p.services[0];
  const [probe] = serviceProbes(p, []).filter((x) => x.service === `${s.namespace}/${s.name}` && x.via === 'cluster IP');
  const nodes = [...new Set(s.endpoints.map((e) => e.node))];
  const deaf = nodes.map((n) => s.endpoints.find((e) => e.node === n && e.pod !== probe.client)!.pod);
  t.is(deaf.length, 2, 'one deaf endpoint on each of two nodes');
  const rule = (op: '-I' | '-D', pod: string) => inNs(nsOf(p.name, pod), ['iptables', '-w', op, 'INPUT', '-p', 'tcp', '--dport', String(s.ports[0].targetPort), '-j', 'DROP']);
  for (const pod of deaf) t.is((await rule('-I', pod)).exitCode, 0);
  const subject = `${probe.client} -> ${probe.service} cluster IP ${probe.target}`;
  let check;
  for (let i = 0; i < 3 && (check = (await verifyWithServices(p, emulator, [])).checks.find((c) => c.subject === subject))?.ok !== false; i++);
  t.like(check, { kind: 'service', ok: false, status: 'fail' });
  t.regex(check!.observed, /unanswered with 3 s each \(timeout\): not every endpoint answers through the Service$/);
  for (const pod of deaf) t.is((await rule('-D', pod)).exitCode, 0);
  const back = (await verifyWithServices(p, emulator, [])).checks.find((c) => c.subject === subject);
  t.like(back, { ok: true });
}

for (const lab of ['bridge-static', 'kthw-static']) {
  serial(`${lab}: every pod pings every pod on another node; down leaves nothing`, async (t) => {
    const name = lab === 'bridge-static' ? 'emt-bridge' : 'emt-kthw';
    const p = await bringUp(t, lab, name);
    const pairs = p.pods.flatMap((a) => p.pods.filter((b) => b.node !== a.node).map((b) => ({ a, b })));
    t.true(pairs.length > 0);
    const ttls = await Promise.all(pairs.map(({ a, b }) => pingTtl(name, a.name, b.ip)));
    t.deepEqual(ttls, pairs.map(() => 62), JSON.stringify(pairs.map(({ a, b }, i) => `${a.ip}->${b.ip}: ${ttls[i]}`)));
    // Pods sit on the node bridge with the node CIDR prefix.
    const node = p.nodes.find((n) => p.pods.some((x) => x.node === n.name))!;
    const br = (await inNs(nsOf(name, node.name), ['ip', '-br', 'addr', 'show', 'dev', node.bridge!.name])).stdout;
    t.true(br.includes(`${node.bridge!.addr.ip}/${node.bridge!.addr.prefixLen}`), br);
    await hairpin(t, p);
    if (lab === 'bridge-static') await deafEndpoints(t, p);
    await downAndCheckNothingLeft(t, p);
  });
}
