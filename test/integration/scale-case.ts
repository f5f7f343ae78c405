// One big-lab case for the emulator (test/integration/scale.test.ts runs it on a small lab
// of dc-256's shape in the default suite; test/scale/ on dc-256 itself): up through the
// batched bring-up, verify green with verify's own observers, then down, which must leave
// nothing (namespaces, processes, FRR dirs, state) and restore the host's neighbour limits.
import './emulator-env.js';
import type { ExecutionContext } from 'ava';
import { readFile } from 'node:fs/promises';
import { loadLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import type { Provider } from '../../src/providers/types.js';
import { verify } from '../../src/verify/index.js';
import { NEIGH_KEYS } from '../../src/providers/emulator/neigh.js';
import { utsDir } from '../../src/providers/emulator/names.js';
import { RESPONDER, RESPONDER_NODES } from '../../src/providers/emulator/responder.js';
import { artifactsFor, inNs, leftovers, nsOf, recordedPids, recordingProgress, stateRoot } from './emulator-helpers.js';

const sysctl = async (k: string) => (await readFile(`/proc/sys/${k.replace(/\./g, '/')}`, 'utf8')).trim();

export async function scaleCase(t: ExecutionContext, emulator: Provider, labFile: string, name: string, limits: { upMs: number; downMs: number }): Promise<Plan> {
  const p = planOf(await loadLab(labFile));
  p.name = name;
  const dir = await artifactsFor(p);
  const before = await Promise.all(NEIGH_KEYS.map(sysctl));
  const progress = recordingProgress();
  const t0 = performance.now();
  try {
    await emulator.up(p, dir, progress);
    const upMs = performance.now() - t0;
    const report = await verify(p, emulator);
    const verifyMs = performance.now() - t0 - upMs;
    t.log(`${name}: ${p.switches.length} switches, ${p.nodes.length} nodes, ${p.pods.length} pods: up ${Math.round(upMs)} ms, verify ${Math.round(verifyMs)} ms`, progress.phases);
    const bad = report.checks.filter((c) => c.status !== 'pass').slice(0, 10).map((c) => `${c.kind} ${c.subject}: ${c.status}, expected ${c.expected}, observed ${c.observed}`);
    t.deepEqual(bad, [], 'verify is green');
    t.true(report.ok);
    t.true(upMs + verifyMs < limits.upMs, `up + verify within ${limits.upMs} ms`);

    // What the batched bring-up promises, seen with raw commands.
    const sw = nsOf(name, p.switches[0].name);
    const node = p.nodes[0];
    t.is((await inNs(sw, ['sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6'])).stdout.trim(), '1', 'sysctls of every namespace (one process) reached the switches');
    const pod = p.pods.find((x) => x.node === node.name);
    if (pod) t.is((await inNs(nsOf(name, node.name), ['sysctl', '-n', `net.ipv4.conf.${pod.hostIface}.proxy_arp`])).stdout.trim(), '1', "and the nodes' pod interfaces");
    const mounts = await readFile('/proc/self/mountinfo', 'utf8');
    t.false(mounts.includes(utsDir(name) + '/'), 'no UTS namespace is bound before a command runs on a device');
    const state = JSON.parse(await readFile(`${stateRoot}/emulator/${name}/state.json`, 'utf8')) as { processes: { daemon: string; pid: number }[] };
    const responders = new Set(state.processes.filter((x) => x.daemon === RESPONDER).map((x) => x.pid));
    const servedNodes = new Set(p.pods.map((x) => x.node)).size;
    t.is(responders.size, Math.ceil(servedNodes / RESPONDER_NODES), `one responder process per ${RESPONDER_NODES} nodes`);
  } finally {
    const pids = await recordedPids(name, stateRoot);
    const t1 = performance.now();
    await emulator.down(name);
    const downMs = performance.now() - t1;
    t.log(`${name}: down ${Math.round(downMs)} ms`);
    t.deepEqual(await leftovers(name, stateRoot, pids), [], 'down leaves nothing');
    t.deepEqual(await Promise.all(NEIGH_KEYS.map(sysctl)), before, "the host's neighbour limits are as before");
    t.true(downMs < limits.downMs, `down within ${limits.downMs} ms`);
  }
  return p;
}
