// Thin wrappers over iproute2 and friends. Commands go in batches (one process per
// namespace, not one per command) because spawning dominates the time of `up`.
import { execa } from 'execa';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { LabError, ExitCode } from '../../errors.js';
import { repoRoot } from '../../paths.js';
import { spawnBatch } from './spawner.js';

const NETNS_DIR = '/var/run/netns';

/**
 * `nsenter` arguments that run a command in a named network namespace. Only the network
 * namespace is entered: `ip netns exec` also unshares the mount namespace and remounts
 * /sys, a third of its cost, which daemons, sysctl and iptables do not need.
 */
export const enterNet = (ns: string) => [`--net=${nsFile(ns)}`, '--'];

/** The file that names a network namespace (what setns and `nsenter --net` open). */
export const nsFile = (ns: string) => `${NETNS_DIR}/${ns}`;

function failure(what: string, stderr: string): LabError {
  return new LabError(`emulator: ${what} failed: ${stderr.trim() || 'no message'}`, ExitCode.hostLacks);
}

/**
 * `ip [-n NS] -batch -` with the lines on stdin. iproute2 accepts no `-n` per line, so
 * there is one batch per namespace (ns undefined: the host namespace, e.g. `netns add`).
 */
export async function ipBatch(ns: string | undefined, lines: string[], o: { force?: boolean } = {}): Promise<void> {
  if (!lines.length) return;
  const args = [...(ns ? ['-n', ns] : []), ...(o.force ? ['-force'] : []), '-batch', '-'];
  const r = await execa('ip', args, { input: lines.join('\n') + '\n', reject: false });
  if (r.exitCode !== 0) throw failure(`ip ${ns ? `-n ${ns} ` : ''}-batch (${pointAt(lines, r.stderr)})`, r.stderr);
}

/** Name the failing line of a batch ("Command failed -:N"). */
function pointAt(lines: string[], stderr: string): string {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m ? `line "${lines[Number(m[1]) - 1]}"` : 'batch';
}

/** Settings of every namespace in ONE process (emulator-configs/sysctl.py: setns, then /proc/sys). */
export async function sysctls(entries: { ns: string; settings: string[] }[]): Promise<void> {
  const lines = entries.filter((e) => e.settings.length).map((e) => `${NETNS_DIR}/${e.ns} ${e.settings.join(' ')}`);
  if (!lines.length) return;
  const r = await execa('/usr/bin/python3', [path.join(repoRoot, 'emulator-configs', 'sysctl.py')], { input: lines.join('\n') + '\n', reject: false });
  if (r.exitCode !== 0) throw failure('sysctl', r.stderr);
}

/** What one namespace gets, in order: an `ip -batch`, a `bridge -batch`, an iptables-restore. */
export interface NsJob { ns: string; ip?: string[]; bridge?: string[]; iptables?: string }

/** Namespaces at once for per-namespace work: one per CPU (each namespace's commands back to back). */
export const NS_WORKERS = Math.max(1, Number(process.env.FABRIC_LAB_NS_WORKERS) || availableParallelism());
/**
 * Namespaces at once for iptables-restore runs: each spends ~3 ms of CPU, then ~10 ms in
 * the close of its netlink socket (the kernel waits for an RCU grace period before it
 * frees the old ruleset), so one per CPU would mostly wait. 100 restores of a node's
 * filter table took 1.73 s one at a time, 0.84 s two at a time, 0.29 s eight at a time.
 */
export const RESTORE_WORKERS = 4 * NS_WORKERS;

/**
 * Per-namespace batches, `workers` namespaces at once, from the pooled helpers that
 * enter a namespace themselves (spawner.ts: no `nsenter`, no shell, no process of this
 * CLI per namespace), each tool fed its lines on stdin. A namespace's steps run in order;
 * the first failure stops the run and names the line.
 */
export async function runNsJobs(jobs: NsJob[], signal?: AbortSignal, workers = NS_WORKERS): Promise<void> {
  const work = jobs.map((j) => ({
    ns: j.ns,
    steps: [
      ...(j.ip?.length ? [{ tool: 'ip', argv: ['ip', '-batch', '-'], input: j.ip.join('\n') + '\n', lines: j.ip }] : []),
      ...(j.bridge?.length ? [{ tool: 'bridge', argv: ['bridge', '-batch', '-'], input: j.bridge.join('\n') + '\n', lines: j.bridge }] : []),
      ...(j.iptables ? [{ tool: 'iptables-restore', argv: ['iptables-restore', '-w'], input: j.iptables.trimEnd() + '\n', lines: undefined }] : []),
    ],
  })).filter((w) => w.steps.length);
  let next = 0;
  let failed = false;
  await settleAll(Array.from({ length: Math.min(workers, work.length) }, async () => {
    while (next < work.length && !failed) {
      signal?.throwIfAborted();
      const w = work[next++];
      const rs = await spawnBatch(nsFile(w.ns), w.steps.map((st) => st.argv), { inputs: w.steps.map((st) => st.input), stopOnFailure: true, signal });
      const bad = rs.findIndex((r) => r.exitCode !== 0);
      if (bad < 0) continue;
      failed = true;
      signal?.throwIfAborted();
      const st = w.steps[bad];
      const stderr = rs[bad].stderr;
      throw failure(`${st.tool} in ${w.ns}${st.lines ? ` (${pointAt(st.lines, stderr)})` : ''}`, stderr);
    }
  }));
}

/**
 * Copy the nftables table `ip TABLE` of namespace `source` (loaded by iptables-restore)
 * into every target, which has none yet, from a few processes (emulator-configs/nft-clone.py):
 * what iptables-save shows there is what it shows in `source`, at ~half the CPU of an
 * iptables-restore per namespace.
 */
export async function cloneNftTable(source: string, table: string, targets: string[], signal?: AbortSignal): Promise<void> {
  // NS_WORKERS processes, each copying into its share of the targets.
  const n = Math.min(NS_WORKERS, targets.length);
  const shards = Array.from({ length: n }, (_, i) => targets.filter((_, j) => j % n === i));
  await settleAll(shards.map(async (shard) => {
    const r = await execa('/usr/bin/python3', [path.join(repoRoot, 'emulator-configs', 'nft-clone.py'), `${NETNS_DIR}/${source}`, 'ip', table], {
      input: shard.map((t) => `${NETNS_DIR}/${t}`).join('\n') + '\n', reject: false, cancelSignal: signal,
    });
    if (r.exitCode === 0) return;
    signal?.throwIfAborted();
    throw failure(`copying the ${table} table of ${source}`, r.stderr);
  }));
}

/** Replace the tables named in `rules` (filter, nat) in a namespace, atomically. */
export async function iptablesRestore(ns: string, rules: string): Promise<void> {
  const r = await execa('nsenter', [...enterNet(ns), 'iptables-restore', '-w'], { input: rules, reject: false });
  if (r.exitCode !== 0) throw failure(`iptables-restore in ${ns}`, r.stderr);
}

/**
 * The device's persistent UTS namespace (its hostname), bound to `file`: made when a
 * command first runs on the device (most devices of a big lab are never entered, and
 * every bind mount makes the host's mount operations slower), under a lock so two
 * commands at once make one. Dies with the CLI (a killed command makes no mount after
 * `down` cleaned up).
 */
export async function ensureUtsNamespace(file: string, hostname: string): Promise<void> {
  const dir = path.dirname(file);
  const dev = async (p: string) => (await stat(p).catch(() => undefined))?.dev;
  if ((await dev(file)) !== undefined && (await dev(file)) !== (await dev(dir))) return; // bound already
  await mkdir(dir, { recursive: true });
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = [
    `exec 9>${q(path.join(dir, '.lock'))}`, 'flock 9',
    `[ -e ${q(file)} ] && [ "$(stat -c %d ${q(file)})" != "$(stat -c %d ${q(dir)})" ] && exit 0`,
    `: > ${q(file)}`, `unshare --uts=${q(file)} hostname ${q(hostname)}`,
  ].join('\n') + '\n';
  const r = await execa('setpriv', ['--pdeathsig', 'KILL', '--', 'sh', '-e', '-s'], { input: script, reject: false });
  if (r.exitCode !== 0) throw failure('unshare --uts (device hostname)', r.stderr);
}

/**
 * Unmount every UTS namespace bound under `dir` (found in the mount table, so a damaged
 * state loses none), so the files can be removed. Returns how many.
 */
export async function removeUtsNamespaces(dir: string): Promise<number> {
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n')
    .map((l) => l.split(' ')[4]?.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m): m is string => !!m && m.startsWith(dir + '/'));
  if (mounts.length) await execa('umount', ['-q', ...new Set(mounts)], { reject: false });
  return mounts.length;
}

/** Named network namespaces that exist now. */
export async function existingNamespaces(): Promise<Set<string>> {
  try {
    return new Set(await readdir(NETNS_DIR));
  } catch {
    return new Set();
  }
}

/**
 * Promise.all that waits for every promise to settle before throwing the first error, so
 * nothing is still being created when the caller (or `down` after an abort) moves on.
 */
export async function settleAll<T>(promises: Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
