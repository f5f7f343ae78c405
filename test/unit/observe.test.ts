// The observation layer: batching several commands in one exec, the pod-pair sample at
// any size, convergence judged by verify's checks through a fake provider (how libvirt's
// `up` waits, without VMs), and unknown observations retried, then reported as such.
import test from 'ava';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { batchScript, splitBatch } from '../../src/providers/batch.js';
import { samplePairs, FULL_MESH_PODS, pairKey } from '../../src/verify/sample.js';
import { waitForConvergence, OBSERVE_CONCURRENCY, PROBE_CONCURRENCY, withSlot, withProbeSlot } from '../../src/observe/index.js';
import { verify } from '../../src/verify/index.js';
import { reportExit } from '../../src/cli/commands/lifecycle.js';
import { loadLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import type { ExecResult } from '../../src/providers/types.js';
import { LabError } from '../../src/errors.js';
import { labYaml, type FabricSpec } from '../fixtures/gen-lab.js';
import { observedDir } from '../fixtures/observed/fixtures.js';
import { replaying } from '../fixtures/observed/replay.js';

const sh = async (script: string): Promise<ExecResult> => {
  const r = await execa('sh', ['-c', script], { reject: false });
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
};

test('execBatch script: each command its own stdout, stderr and exit code, in one shell', async (t) => {
  const cmds = [['printf', '%s\\n', '{"a": 1}'], ['sh', '-c', 'echo oops >&2; exit 3'], ['echo', "it's $HOME"], ['true']];
  const rs = splitBatch(await sh(batchScript(cmds)), cmds.length);
  t.deepEqual(rs, [
    { stdout: '{"a": 1}\n', stderr: '', exitCode: 0 },
    { stdout: '', stderr: 'oops', exitCode: 3 },
    { stdout: "it's $HOME\n", stderr: '', exitCode: 0 },
    { stdout: '', stderr: '', exitCode: 0 },
  ]);
});

test('execBatch split: commands an exec never finished are -1 with its complaint', async (t) => {
  const whole = await sh(batchScript([['echo', 'one'], ['sleep', '0']]));
  // As if the exec had been killed after the first command: cut its output there.
  const cut = whole.stdout.slice(0, whole.stdout.indexOf('@@fabric-lab-batch 1'));
  const rs = splitBatch({ stdout: cut, stderr: 'timeout after 5000 ms', exitCode: -1 }, 2);
  t.deepEqual(rs[0], { stdout: 'one\n', stderr: '', exitCode: 0 });
  t.is(rs[1].exitCode, -1);
  t.regex(rs[1].stderr, /timeout after 5000 ms/);
});

let dir = '';
test.before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'vf-observe-')); });
test.after.always(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

async function generated(spec: FabricSpec): Promise<Plan> {
  const file = path.join(dir, `${spec.name}.yaml`);
  await writeFile(file, labYaml(spec));
  return planOf(await loadLab(file));
}

test('sample: every pair up to 64 pods; above, every pod a source and a destination, every (source node, destination rack) covered', async (t) => {
  const small = await generated({ name: 'vf-s16', spines: 2, leaves: 4, nodesPerRack: 4, mode: 'bgp', pods: 16 });
  const s = samplePairs(small);
  t.is(s.pairs, s.of);
  t.true(s.of > 0);

  const big = await generated({ name: 'vf-s4328', spines: 4, leaves: 32, nodesPerRack: 8, mode: 'bgp', pods: 200 });
  t.true(big.pods.length > FULL_MESH_PODS);
  const started = performance.now();
  const b = samplePairs(big);
  const ms = performance.now() - started;
  t.true(b.pairs < b.of / 4, `${b.pairs} of ${b.of}`);
  const pairs = [...b.bySource.values()].flat();
  t.is(pairs.length, b.pairs);
  const podNode = new Map(big.pods.map((p) => [p.name, p.node]));
  const rack = new Map(big.nodes.map((n) => [n.name, n.rack]));
  const names = (xs: string[]) => [...new Set(xs)].sort();
  t.deepEqual(names(pairs.map((p) => p.from)), names(big.pods.map((p) => p.name)), 'every pod is a source');
  t.deepEqual(names(pairs.map((p) => p.to)), names(big.pods.map((p) => p.name)), 'every pod is a destination');
  t.true(pairs.every((p) => podNode.get(p.from) !== podNode.get(p.to)));
  const covered = new Set(pairs.map((p) => `${podNode.get(p.from)} ${rack.get(podNode.get(p.to)!)}`));
  for (const n of new Set(big.pods.map((p) => p.node))) {
    for (const r of new Set(big.pods.filter((p) => p.node !== n).map((p) => rack.get(p.node)))) t.true(covered.has(`${n} ${r}`), `${n} -> rack ${r}`);
  }
  // Every source reads a TTL, and every (source node, expected TTL) class is read.
  t.true([...b.bySource.keys()].every((src) => [...b.ttl].some((k) => k.startsWith(`${src} `))));
  t.deepEqual(samplePairs(big), b, 'deterministic');
  t.is(samplePairs(big, { full: true }).pairs, b.of);
  t.true(ms < 500, `${ms.toFixed(0)} ms`);
});

test('sample: no TTL is read from a pair NetworkPolicy blocks (no reply may come); the source reads one from an open pair', async (t) => {
  const p = await generated({ name: 'vf-s16b', spines: 2, leaves: 4, nodesPerRack: 4, mode: 'bgp', pods: 16 });
  const closed = new Set(p.pods.slice(0, 8).map((x) => x.name));
  const s = samplePairs(p, { blockedBy: (_a, b) => closed.has(b) ? 'default-deny' : undefined });
  const pairs = [...s.bySource.values()].flat();
  const ttlOf = new Set([...s.ttl]);
  t.true(pairs.some((x) => x.blockedBy) && pairs.some((x) => !x.blockedBy));
  t.deepEqual(pairs.filter((x) => x.blockedBy && ttlOf.has(pairKey(x.from, x.toIp))), [], 'no TTL ping towards a blocked pod');
  t.true([...s.bySource.keys()].every((src) => [...s.ttl].some((k) => k.startsWith(`${src} `))), 'every source still reads one');
  const all = samplePairs(p, { blockedBy: () => 'deny all' });
  t.is(all.ttl.size, 0);
  t.is(all.pairs, s.pairs);
});

const vxlanPlan = async () => planOf(await loadLab(path.join(observedDir, 'vfy-vxlan.yaml')));
const healthy = path.join(observedDir, 'lab-vxlan-healthy.json');
const bgpdDead = path.join(observedDir, 'lab-vxlan-bgpd-dead.json');

test('convergence (as libvirt up waits): polls through the layer until verify\'s session and route checks pass', async (t) => {
  const plan = await vxlanPlan();
  const before = replaying(bgpdDead);
  const after = replaying(healthy);
  let rounds = 0;
  const provider = {
    ...after,
    async execBatch(lab: string, device: string, commands: string[][]) {
      if (device === 'leaf1') rounds++;
      return (rounds < 3 ? before : after).execBatch(lab, device, commands);
    },
  };
  const lines: string[] = [];
  const summary = await waitForConvergence(plan, provider, { timeoutMs: 10_000, pollMs: 1, trace: (l) => lines.push(l) });
  // Counted as `lab show` counts them: each session once (calico-vxlan: 4), routes that must be present.
  t.is(summary, '4 sessions Established (both ends), 32 routes');
  t.true(rounds >= 3);
  t.true(lines.some((l) => /ms {2}bgp-session leaf2 -> spine-sw1/.test(l)));
});

test('convergence that never comes: exit 1 naming the checks that did not pass', async (t) => {
  const plan = await vxlanPlan();
  const err = await t.throwsAsync(waitForConvergence(plan, replaying(bgpdDead), { timeoutMs: 50, pollMs: 5 }), { instanceOf: LabError });
  t.is(err!.exitCode, 1);
  t.regex(err!.message, /did not converge within 0 s:\n(.*\n)*? {2}bgp-session leaf2 -> spine-sw1 \(172\.16\.0\.2\): expected Established, observed bgpd is not running/);
});

test('verify: an observation that times out is retried with more time; still lost, it is unknown (exit 5), never failed', async (t) => {
  const plan = await vxlanPlan();
  const timedOut: ExecResult = { stdout: '', stderr: 'timeout after 5000 ms', exitCode: -1 };
  const base = replaying(healthy);
  const asked: Array<{ device: string; timeoutMs?: number }> = [];
  const flaky = (lostRounds: number) => {
    let n = 0;
    return {
      ...base,
      async execBatch(lab: string, device: string, commands: string[][], o?: { timeoutMs?: number }) {
        if (device !== 'leaf1') return base.execBatch(lab, device, commands);
        asked.push({ device, timeoutMs: o?.timeoutMs });
        return n++ < lostRounds ? commands.map(() => timedOut) : base.execBatch(lab, device, commands);
      },
    };
  };
  const once = await verify(plan, flaky(1));
  t.deepEqual(once.summary, { passed: 78, failed: 0, unknown: 0 });
  t.deepEqual(asked.map((a) => a.timeoutMs), [5000, 15000], 'retried once, with three times the time');

  const lost = await verify(plan, flaky(2));
  t.is(lost.summary.failed, 0);
  t.true(lost.summary.unknown > 0);
  t.is(reportExit(lost), 5);
  const c = lost.checks.find((x) => x.status === 'unknown' && x.subject.startsWith('leaf1 -> spine-sw1'))!;
  t.regex(c.observed, /^could not observe \(`vtysh`: timeout after 5000 ms; host load [\d.]+ on \d+ CPUs\)$/);
});

test('two bounds sized to the host: devices, and reachability probes in their own larger pool', async (t) => {
  const peakOf = async (pool: typeof withSlot, n: number) => {
    let running = 0;
    let peak = 0;
    await Promise.all(Array.from({ length: n }, () => pool(async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 2));
      running--;
    })));
    return peak;
  };
  t.is(await peakOf(withSlot, 40), OBSERVE_CONCURRENCY);
  t.is(await peakOf(withProbeSlot, 4 * PROBE_CONCURRENCY), PROBE_CONCURRENCY);
  t.true(PROBE_CONCURRENCY > OBSERVE_CONCURRENCY);
  // Both at once: a full probe pool does not hold up a device's observation.
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  const probes = Array.from({ length: PROBE_CONCURRENCY }, () => withProbeSlot(() => gate));
  t.is(await withSlot(async () => 'device'), 'device');
  release();
  await Promise.all(probes);
});

test('withSlot({ first }) jumps the queue: a capture\'s ping waits for no probe', async (t) => {
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  // Fill every slot, then queue probes, then the urgent one.
  const busy = Array.from({ length: OBSERVE_CONCURRENCY }, () => withSlot(() => gate));
  const probes = Array.from({ length: 5 }, (_, i) => withSlot(async () => { order.push(`probe${i}`); }));
  const urgent = withSlot(async () => { order.push('ping'); }, { first: true });
  release();
  await Promise.all([...busy, ...probes, urgent]);
  t.is(order[0], 'ping');
  t.deepEqual(order.slice(1), ['probe0', 'probe1', 'probe2', 'probe3', 'probe4']);
});
