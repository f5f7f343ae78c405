// bench/verify.ts: how `lab verify` scales, and how it holds up under load (issue 8).
//
// Size cases (generated with test/fixtures/gen-lab.ts, never shipped as labs): Calico BGP
// fabrics 4x8x4 (32 pods), 4x16x8 (64 pods) and 4x32x8 (128 pods: sampled). Each is
// brought up with the real CLI, then `lab verify --json` runs RUNS times under
// /usr/bin/time: wall time, CPU seconds (the CLI and the children it reaps), peak RSS,
// checks, failed, unknown, pairs probed. In the same run, the floor: the least any
// verify of that lab must do on this host (one exec per observed device, `nsenter --net
// true`, and one fping per source pod to the same targets, under the same bound of 2 x
// CPUs), so the ratio verify / floor says what verify costs beyond merely looking. Then
// one verify in-process with a counting provider: execs by command, their summed time.
//
// Load case: LOAD_COPIES (8) copies of calico-vxlan (vz-c1..) up at once; LOAD_ROUNDS (20)
// rounds in which every copy is verified at the same time as the others: each must be
// green with nothing unknown.
//
// Root, after `npm run build`, under the shared root lock (each case holds it for
// about 1-4 minutes; run them one by one if others wait):
//   flock /tmp/fabric-lab-root.lock npm run bench:verify
//   CASES=4x16x8 RUNS=3 ...   CASES=load ...   (default: 4x8x4,4x16x8,4x32x8,load)
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { labYaml, type FabricSpec } from '../test/fixtures/gen-lab.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'dist/cli/main.js');
const RUNS = Number(process.env.RUNS ?? 3);
const CASES = (process.env.CASES ?? '4x8x4,4x16x8,4x32x8,load').split(',');
const COPIES = Number(process.env.LOAD_COPIES ?? 8);
const ROUNDS = Number(process.env.LOAD_ROUNDS ?? 20);
const PODS: Record<string, number> = { '4x8x4': 32, '4x16x8': 64, '4x32x8': 128 };

const state = await mkdtemp(path.join(tmpdir(), 'bench-verify-state-'));
process.env.FABRIC_LAB_STATE = state; // before src/paths.ts is imported (below, dynamically)
const env = { ...process.env, NO_COLOR: '1' };
const dir = await mkdtemp(path.join(tmpdir(), 'bench-verify-'));
const up: string[] = [];
const load = () => `load ${loadavg().map((x) => x.toFixed(1)).join(' / ')}`;
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

interface Run { ms: number; cpuMs: number; rssKb: number; code: number; report: { ok?: boolean; summary?: { passed: number; failed: number; unknown: number }; sample?: { pairs: number; of: number } } }

/** The CLI under /usr/bin/time (%M: peak RSS of the CLI and the children it reaped). */
async function cli(args: string[]): Promise<Run & { stderr: string }> {
  const out = path.join(dir, `time-${process.hrtime.bigint()}`);
  const t0 = performance.now();
  const r = await execa('/usr/bin/time', ['-f', '%M %U %S', '-o', out, 'node', main, ...args], { env, reject: false, stdin: 'ignore' });
  const ms = performance.now() - t0;
  const [rssKb, user, sys] = (await readFile(out, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
  let report = {};
  try { report = JSON.parse(String(r.stdout)); } catch { /* not JSON: not a verify */ }
  return { ms, cpuMs: (user + sys) * 1000, rssKb, code: r.exitCode ?? -1, report, stderr: String(r.stderr) };
}

async function labUp(name: string, yaml: string): Promise<void> {
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, yaml);
  up.push(name);
  const r = await cli(['up', file]);
  if (r.code !== 0) throw new Error(`lab up ${name} exited ${r.code}:\n${r.stderr.trim().split('\n').slice(-8).join('\n')}`);
  console.log(`  up ${name}: ${s(r.ms)}`);
}

async function labDown(name: string): Promise<void> {
  await execa('node', [main, 'down', name], { env, reject: false });
  up.splice(up.indexOf(name), 1);
}

async function cleanup(): Promise<void> {
  for (const n of [...up]) await labDown(n);
  await rm(dir, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => { void cleanup().finally(() => process.exit(130)); });

const { loadLab } = await import('../src/lab/load.js');
const { plan: planOf } = await import('../src/plan/index.js');
const { emulator } = await import('../src/providers/emulator/index.js');
const { namespaceOf } = await import('../src/providers/emulator/names.js');
const { observedDevices } = await import('../src/observe/device.js');
const { withSlot, OBSERVE_CONCURRENCY } = await import('../src/observe/limit.js');
const { samplePairs } = await import('../src/verify/sample.js');
const { verify } = await import('../src/verify/index.js');
type Provider = typeof emulator;

/** The floor: one exec per observed device and one fping per source pod, same bound as verify. */
async function floor(name: string): Promise<number> {
  const p = planOf(await loadLab(path.join(dir, `${name}.yaml`)));
  const { switches, nodes } = observedDevices(p);
  const sample = samplePairs(p);
  const t0 = performance.now();
  await Promise.all([
    ...[...switches, ...nodes.map((n) => n.name)].map((d) => withSlot(() => execa('nsenter', [`--net=/var/run/netns/${namespaceOf(name, d)}`, 'true']))),
    ...[...sample.bySource].map(([pod, pairs]) => withSlot(() => execa('nsenter', [`--net=/var/run/netns/${namespaceOf(name, pod)}`, 'fping', '-q', '-c', '1', '-i', '0', '-t', '1000', ...pairs.map((x) => x.toIp)], { reject: false }))),
  ]);
  return performance.now() - t0;
}

/** One verify in-process, counting execs by their first command and summing their time. */
async function profile(name: string): Promise<string> {
  const p = planOf(await loadLab(path.join(dir, `${name}.yaml`)));
  const by = new Map<string, { n: number; ms: number }>();
  const count = (k: string, ms: number) => { const x = by.get(k) ?? { n: 0, ms: 0 }; x.n++; x.ms += ms; by.set(k, x); };
  const counting: Provider = {
    ...emulator,
    async execBatch(lab, device, commands, o) {
      const t0 = performance.now();
      try { return await emulator.execBatch(lab, device, commands, o); } finally { count(commands.map((c) => c[0]).join('+'), performance.now() - t0); }
    },
  };
  const t0 = performance.now();
  const r = await verify(p, counting);
  const total = performance.now() - t0;
  const rows = [...by].sort((a, b) => b[1].ms - a[1].ms).map(([k, v]) => `${k} x${v.n} ${s(v.ms)} (${(v.ms / v.n).toFixed(0)} ms each)`);
  return `in-process verify ${s(total)}, ${r.checks.length} checks, ok ${r.ok}; execs: ${rows.join('; ')}`;
}

async function sizeCase(c: string): Promise<boolean> {
  const [spines, leaves, perRack] = c.split('x').map(Number);
  const name = `vz-b${c}`;
  const spec: FabricSpec = { name, spines, leaves, nodesPerRack: perRack, mode: 'bgp', pods: PODS[c] ?? leaves * perRack / 2 };
  console.log(`\n${c}: ${spines} spines x ${leaves} leaves x ${perRack} nodes, Calico BGP, ${spec.pods} pods (${load()})`);
  await labUp(name, labYaml(spec));
  const runs: Run[] = [];
  const floors: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate so both sides see the same load.
    if (i % 2) floors.push(await floor(name));
    runs.push(await cli(['verify', name, '--json']));
    if (!(i % 2)) floors.push(await floor(name));
  }
  const prof = await profile(name);
  await labDown(name);
  const last = runs[runs.length - 1].report;
  const allGreen = runs.every((r) => r.code === 0 && r.report.ok);
  const v = median(runs.map((r) => r.ms));
  const f = median(floors);
  console.log(`  verify: ${s(v)} median of ${RUNS} (${runs.map((r) => s(r.ms)).join(', ')}), CPU ${s(median(runs.map((r) => r.cpuMs)))}, peak RSS ${(Math.max(...runs.map((r) => r.rssKb)) / 1024).toFixed(0)} MB`);
  console.log(`  checks: ${last.summary?.passed} passed, ${runs.map((r) => r.report.summary?.failed).join('/')} failed, ${runs.map((r) => r.report.summary?.unknown).join('/')} unknown; pairs ${last.sample?.pairs} of ${last.sample?.of}; exit codes ${runs.map((r) => r.code).join(' ')}`);
  console.log(`  floor (one exec per device + one fping per source pod, ${OBSERVE_CONCURRENCY} at once): ${s(f)}; ratio verify / floor ${(v / f).toFixed(2)}`);
  console.log(`  ${prof}`);
  return allGreen;
}

async function loadCase(): Promise<boolean> {
  console.log(`\nload: ${COPIES} copies of calico-vxlan up at once, ${ROUNDS} rounds of all verified at the same time (${load()})`);
  const source = await readFile(path.join(root, 'labs/calico-vxlan.yaml'), 'utf8');
  const names = Array.from({ length: COPIES }, (_, i) => `vz-c${i + 1}`);
  for (const n of names) await labUp(n, source.replace(/^name: .*$/m, `name: ${n}`));
  let green = 0;
  let unknown = 0;
  let failed = 0;
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const rs = await Promise.all(names.map((n) => cli(['verify', n, '--json'])));
    for (const r of rs) {
      times.push(r.ms);
      if (r.code === 0 && r.report.ok) green++;
      if (r.report.summary?.unknown) unknown++;
      if (r.report.summary?.failed) failed++;
    }
    const bad = rs.filter((r) => r.code !== 0);
    if (bad.length) console.log(`  round ${round + 1}: ${bad.length} not green: exit ${bad.map((r) => r.code).join(', ')}; ${JSON.stringify(bad[0].report.summary)}`);
  }
  console.log(`  ${green} of ${COPIES * ROUNDS} verifies green, ${failed} with a failure, ${unknown} with unknowns; each verify ${s(median(times))} median, ${s(Math.max(...times))} worst (${load()})`);
  for (const n of names) await labDown(n);
  return green === COPIES * ROUNDS;
}

console.log(`bench/verify: ${availableParallelism()} CPUs, ${load()}, RUNS=${RUNS}`);
let ok = true;
try {
  for (const c of CASES) ok = (c === 'load' ? await loadCase() : await sizeCase(c)) && ok;
} finally {
  await cleanup();
}
const left = (await execa('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => /vz-[bc]/.test(l));
if (left.length) { console.log(`left behind: ${left.length} namespaces`); ok = false; }
console.log(`\n${load()}`);
process.exitCode = ok ? 0 : 1;
