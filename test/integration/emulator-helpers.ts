// Shared by the emulator integration tests: bring a shipped lab up under a test name,
// observe it with raw commands (never through verify), and prove `down` left nothing.
import './emulator-env.js';
import type { TestFn } from 'ava';
import { execa } from 'execa';
import { mkdtemp, readdir, readFile, access, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import type { Progress, Provider } from '../../src/providers/types.js';
import { renderAll, writeArtifacts } from '../../src/render/index.js';
import { verify, type Report } from '../../src/verify/index.js';

export const isRoot = process.getuid?.() === 0;

/** Each test file keeps its state in its own temporary root (see emulator-env.ts). */
export { stateRoot } from '../../src/paths.js';
import { stateRoot as stateRootDir } from '../../src/paths.js';

export async function loadEmulator(): Promise<Provider> {
  return (await import('../../src/providers/emulator/index.js')).emulator;
}

/** Phase durations reported by `up`, for the test log. */
export function recordingProgress(onPhase?: (title: string) => void): Progress & { phases: Record<string, number> } {
  const phases: Record<string, number> = {};
  return {
    phases,
    phase(title) {
      onPhase?.(title);
      const t0 = performance.now();
      return () => { phases[title] = Math.round(performance.now() - t0); };
    },
    info: () => undefined,
  };
}

/** A shipped lab, planned under another name (so it never collides with a user's lab). */
export async function planAs(lab: string, name: string): Promise<Plan> {
  const p = planOf(await loadLab(lab));
  p.name = name;
  return p;
}

const tempDirs: string[] = [];

/** Remove the state root and artifact folders (call once every lab is down). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all([...tempDirs, stateRootDir].map((d) => rm(d, { recursive: true, force: true })));
}

/** Render the plan's artifacts into a fresh directory, as the CLI does before `up`. */
export async function artifactsFor(p: Plan): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `emulator-art-${p.name}-`));
  tempDirs.push(dir);
  await writeArtifacts(dir, renderAll(p));
  return dir;
}

import { namespaceOf, namespacePrefix, socketDir } from '../../src/providers/emulator/names.js';

export const nsOf = namespaceOf;

/**
 * Until a process this test did not start has exited: gone, or a zombie its parent has not
 * reaped yet (no process event to wait on for a non-child, so /proc is read every 50 ms).
 */
export async function waitUntilGone(pid: number, timeoutMs = 10_000): Promise<void> {
  await execa('sh', ['-c', `while kill -0 ${pid} 2>/dev/null && ! grep -q '^State:.*Z' /proc/${pid}/status 2>/dev/null; do sleep 0.05; done`], { timeout: timeoutMs });
}

/** Raw `ip netns exec`. */
export async function inNs(ns: string, argv: string[], timeoutMs = 10_000) {
  return execa('ip', ['netns', 'exec', ns, ...argv], { reject: false, timeout: timeoutMs });
}

/** One ICMP echo from a pod: the reply TTL, or undefined if there was no reply. */
export async function pingTtl(lab: string, fromPod: string, toIp: string): Promise<number | undefined> {
  const r = await inNs(nsOf(lab, fromPod), ['ping', '-c', '1', '-W', '2', toIp]);
  const m = /ttl=(\d+)/.exec(r.stdout);
  return m ? Number(m[1]) : undefined;
}

/** FRR's own view of a switch's BGP sessions: peer ip -> state. */
export async function bgpPeers(lab: string, sw: string): Promise<Record<string, string>> {
  const ns = nsOf(lab, sw);
  const r = await inNs(ns, ['vtysh', '-N', ns, '-c', 'show bgp summary json']);
  const peers = JSON.parse(r.stdout).ipv4Unicast?.peers ?? {};
  return Object.fromEntries(Object.entries<{ state: string }>(peers).map(([ip, p]) => [ip, p.state]));
}

/** Everything that could be left of a lab: namespaces, FRR dirs, state, socket dir, live processes. */
export async function leftovers(lab: string, stateRoot: string, pids: number[]): Promise<string[]> {
  const left: string[] = [];
  const prefix = namespacePrefix(lab);
  const netns = await readdir('/var/run/netns').catch(() => [] as string[]);
  left.push(...netns.filter((n) => n.startsWith(prefix)).map((n) => `netns ${n}`));
  for (const dir of ['/etc/frr', '/var/run/frr']) {
    const names = await readdir(dir).catch(() => [] as string[]);
    left.push(...names.filter((n) => n.startsWith(prefix)).map((n) => `${dir}/${n}`));
  }
  for (const dir of [path.join(stateRoot, 'emulator', lab), socketDir(lab)]) {
    if (await access(dir).then(() => true, () => false)) left.push(dir);
  }
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (stat && state !== 'Z' && state !== 'X') left.push(`process ${pid} (${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))})`);
  }
  return left;
}

/** PIDs the emulator recorded for a lab (read from its state file, before `down`). */
export async function recordedPids(lab: string, stateRoot: string): Promise<number[]> {
  try {
    const state = JSON.parse(await readFile(path.join(stateRoot, 'emulator', lab, 'state.json'), 'utf8'));
    return state.processes.map((p: { pid: number }) => p.pid);
  } catch {
    return [];
  }
}

/** Every process whose command line mentions the lab's namespaces (daemons started for it). */
export async function processesMentioning(lab: string): Promise<number[]> {
  const out: number[] = [];
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(namespacePrefix(lab)) || cmd.includes(`/emulator/${lab}/`)) out.push(Number(pid));
  }
  return out;
}

/**
 * A test file's labs on the emulator: the provider (loaded before the tests, as root),
 * bringUp(lab, name) brings a shipped lab up under another name, and every lab brought up
 * is taken down after the file.
 */
export function emulatorLabs(t: TestFn): { readonly emulator: Provider; bringUp(lab: string, name: string): Promise<Plan> } {
  let emulator: Provider | undefined;
  const up: string[] = [];
  t.before(async () => { if (isRoot) emulator = await loadEmulator(); });
  t.after.always(async () => {
    for (const lab of up) await emulator?.down(lab).catch(() => undefined);
    await removeTempDirs();
  });
  return {
    get emulator() { return emulator!; },
    async bringUp(lab, name) {
      const p = await planAs(lab, name);
      up.push(name);
      await emulator!.up(p, await artifactsFor(p), recordingProgress());
      return p;
    },
  };
}

/** Verify until `done` holds (routing takes a moment to react to a fault), at most `ms`. */
export async function verifyUntil(provider: Provider, p: Plan, done: (r: Report) => boolean, ms = 15_000): Promise<Report> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = await verify(p, provider);
    if (done(r) || Date.now() > deadline) return r;
    await new Promise((res) => setTimeout(res, 200));
  }
}
