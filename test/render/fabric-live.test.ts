// The rendered frr.conf files in real FRR 8.4 (root only: network namespaces).
// 1. Each file, fed line by line to running daemons, is accepted whole and kept.
// 2. The fabrics they describe converge to the plan's intent: sessions Established,
//    every expected route with its number of next hops, node-to-node ping across racks.
import test, { type ExecutionContext } from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import { renderFabric } from '../../src/render/fabric.js';
import { repoRoot } from '../../src/paths.js';
import { LiveFabric, applyToRunningFrr, waitFor, type NodeMode } from './fabric-live.js';

const isRoot = process.getuid?.() === 0;
const live = isRoot ? test.serial : test.skip;
if (!isRoot) console.warn('fabric-live: not root, the live FRR tests are skipped');

const fixture = (name: string) => path.join(repoRoot, 'test/fixtures/labs', `${name}.yaml`);
const planOf = async (ref: string) => plan(await loadLab(ref));

/**
 * Lines show running-config does not echo: datacenter defaults; `ip forwarding`, shown
 * only when off; `hostname`, which vtysh reports from the host's UTS namespace.
 */
const ECHOLESS = new Set(['frr defaults datacenter', 'service integrated-vtysh-config', ' no bgp ebgp-requires-policy', ' timers bgp 3 9', 'ip forwarding']);

live('FRR is installed (apt frr)', (t) => {
  t.true(existsSync('/usr/lib/frr/bgpd') && existsSync('/usr/lib/frr/zebra'));
});

for (const ref of ['calico-vxlan', 'calico-bgp', 'rfc7938', fixture('fabric-frr'), fixture('shared-leaf-as')]) {
  live(`${path.basename(ref, '.yaml')}: running FRR accepts every line of every frr.conf and keeps it`, async (t) => {
    for (const a of renderFabric(await planOf(ref)).filter((x) => x.path.endsWith('/frr.conf'))) {
      const r = await applyToRunningFrr(a.content);
      t.is(r.exitCode, 0, `${a.path}: ${r.output}`);
      t.false(/%|Failure|rror/.test(r.output), `${a.path}: ${r.output}`);
      const running = new Set(r.running.split('\n'));
      const missing = a.content.split('\n').filter((l) => l && !l.trim().startsWith('!') && !l.startsWith('hostname ') && !ECHOLESS.has(l) && !running.has(l));
      t.deepEqual(missing, [], `${a.path}: lines FRR did not keep`);
      t.false(running.has('no ip forwarding'), `${a.path}: zebra turned IPv4 forwarding on`);
    }
  });
}

live('running FRR does reject a config that --dryrun lets through (the check above can fail)', async (t) => {
  const good = renderFabric(await planOf('calico-bgp')).find((a) => a.path === 'fabric-configs/leaf1/frr.conf')!.content;
  const range = ' bgp listen range 10.0.101.0/24 peer-group RACK\n';
  t.true(good.includes(range));
  // The listen range before its peer group exists: valid grammar, refused by bgpd.
  const bad = good.replace(range, '').replace(' neighbor RACK peer-group\n', range + ' neighbor RACK peer-group\n');
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'fabric-live-')), 'frr.conf');
  writeFileSync(file, bad);
  t.is((await execa('vtysh', ['--dryrun', '-f', file], { reject: false })).exitCode, 0, 'dryrun misses it');
  rmSync(path.dirname(file), { recursive: true });
  const r = await applyToRunningFrr(bad);
  t.not(r.exitCode, 0);
  t.regex(r.output, /peer-group/);
});

/** Bring the fabric up, wait for the plan's switch sessions and routes; returns timings. */
async function converge(t: ExecutionContext, p: Plan, mode: NodeMode) {
  const fabric = new LiveFabric(p, mode);
  t.teardown(() => fabric.stop());
  const switches = new Set(p.switches.map((s) => s.name));
  const sessions = p.intent.sessions.filter((s) => switches.has(s.speaker) && (mode === 'bgp' || !s.dynamic));
  const pods = new Set(p.nodes.flatMap((n) => n.blocks));
  const routes = p.intent.routes.filter((r) => switches.has(r.device) && (mode === 'bgp' || !pods.has(r.prefix)));
  const t0 = Date.now();
  await fabric.start(renderFabric(p));
  const tFrr = Date.now();

  const notEstablished = async () => {
    const bad: string[] = [];
    for (const s of sessions) {
      const j = await fabric.vtyshJson(s.speaker, 'show bgp summary json');
      const state = j.ipv4Unicast?.peers?.[s.peerIp]?.state ?? 'absent';
      if (state !== 'Established') bad.push(`${s.speaker} -> ${s.peer} (${s.peerIp}): ${state}`);
    }
    return bad;
  };
  const est = await waitFor(async () => (await notEstablished()).length === 0, 15000, 50);
  t.deepEqual(await notEstablished(), [], 'every expected session Established');

  const wrongRoutes = async () => {
    const bad: string[] = [];
    for (const r of routes) {
      const j = await fabric.vtyshJson(r.device, `show ip route ${r.prefix} json`);
      const ips: string[] = (j[r.prefix]?.[0]?.nexthops ?? []).filter((h: any) => h.fib).map((h: any) => h.ip);
      const hops = ips.length;
      const via = r.via?.map((v) => v.ip).sort().join(' ');
      const ok = r.present ? hops > 0 && (r.nextHops === undefined || hops === r.nextHops) && (via === undefined || ips.sort().join(' ') === via) : hops === 0;
      if (!ok) bad.push(`${r.device} ${r.prefix}: expected ${r.present ? `${r.nextHops ?? 'some'} next hops${via ? ` via ${via}` : ''}` : 'absent'}, saw ${hops} (${ips.join(' ')})`);
    }
    return bad;
  };
  const rt = await waitFor(async () => (await wrongRoutes()).length === 0, 15000, 50);
  t.deepEqual(await wrongRoutes(), [], 'every intended route, with its ECMP width');
  t.log(`${p.name}: FRR started ${tFrr - t0} ms, sessions Established +${est.ms} ms, routes converged +${est.ms + rt.ms} ms after start`);
  return fabric;
}

live('calico-vxlan fabric converges to the intent within seconds; nodes ping across racks (ttl 61)', async (t) => {
  const p = await planOf('calico-vxlan');
  const fabric = await converge(t, p, 'hosts');
  const out = await fabric.exec('k8s-node-l1-1', ['ping', '-c', '1', '-W', '2', '10.0.102.102']);
  t.regex(out, /1 received/);
  t.regex(out, /ttl=61/, 'leaf, spine, leaf: three routers');
  const routes = await fabric.vtyshJson('leaf1', 'show ip route 172.16.255.102/32 json');
  t.deepEqual(routes['172.16.255.102/32'][0].nexthops.map((h: any) => h.ip).sort(), ['172.16.0.0', '172.16.0.4'], 'ECMP over both spines');
});

live('calico-bgp (AS per rack): leaves reflect node blocks; nodes learn other racks via their leaf', async (t) => {
  const p = await planOf('calico-bgp');
  const fabric = await converge(t, p, 'bgp');
  const node = p.nodes.find((n) => n.name === 'k8s-node-l1-1')!;
  const sameRack = p.nodes.find((n) => n.name === 'k8s-node-l1-2')!;
  const otherRack = p.nodes.find((n) => n.name === 'k8s-node-l2-1')!;
  const { value: table } = await waitFor(async () => {
    const out = await fabric.exec(node.name, ['ip', '-4', 'route', 'show', 'proto', 'bgp']);
    return out.includes(otherRack.blocks[0]) && out.includes(sameRack.blocks[0]) ? out : '';
  }, 10000);
  t.regex(table, new RegExp(`${otherRack.blocks[0]} (nhid \\d+ )?via ${node.gateway} `), 'other rack: next hop is the leaf (next-hop-self)');
  t.regex(table, new RegExp(`${sameRack.blocks[0]} (nhid \\d+ )?via ${sameRack.addr.ip} `), 'same rack: reflected, next hop kept');
});

live('fabric designs converge through the intended neighbours: spines sharing one AS (rfc7938), leaves sharing one AS (allowas-in)', async (t) => {
  await (await converge(t, await planOf('rfc7938'), 'hosts')).stop();
  const p = await planOf(fixture('shared-leaf-as'));
  const fabric = await converge(t, p, 'hosts');
  // lf1's rack at lf2 (both AS 65100): accepted only thanks to allowas-in, its path holds 65100 twice.
  const j = await fabric.vtyshJson('lf2', 'show bgp ipv4 unicast 10.1.1.0/24 json');
  t.true(j.paths.some((x: any) => x.aspath.string === '65001 65100'), JSON.stringify(j.paths?.map((x: any) => x.aspath?.string)));
});

live('fabric-frr (FRR flavour, AS per node, 4-byte ASNs) and a fabric without nodes converge', async (t) => {
  await (await converge(t, await planOf(fixture('fabric-frr')), 'bgp')).stop();
  await converge(t, await planOf(fixture('fabric-only')), 'none');
  t.pass();
});
