// Thin wrappers over iproute2 and friends. Commands go in batches (one process per
// namespace, not one per command) because spawning dominates the time of `up`.
import { execa } from 'execa';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LabError, ExitCode } from '../../errors.js';

const NETNS_DIR = '/var/run/netns';

/**
 * `nsenter` arguments that run a command in a named network namespace. Only the network
 * namespace is entered: `ip netns exec` also unshares the mount namespace and remounts
 * /sys, a third of its cost, which daemons, sysctl and iptables do not need.
 */
export const enterNet = (ns: string) => [`--net=${NETNS_DIR}/${ns}`, '--'];

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

/** `bridge -n NS -batch -` (FDB entries). */
export async function bridgeBatch(ns: string, lines: string[]): Promise<void> {
  if (!lines.length) return;
  const r = await execa('bridge', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n', reject: false });
  if (r.exitCode !== 0) throw failure(`bridge -n ${ns} -batch (${pointAt(lines, r.stderr)})`, r.stderr);
}

/** Name the failing line of a batch ("Command failed -:N"). */
function pointAt(lines: string[], stderr: string): string {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m ? `line "${lines[Number(m[1]) - 1]}"` : 'batch';
}

/** Several sysctls of one namespace in one process. */
export async function sysctl(ns: string, settings: string[]): Promise<void> {
  if (!settings.length) return;
  const r = await execa('nsenter', [...enterNet(ns), 'sysctl', '-q', '-w', ...settings], { reject: false });
  if (r.exitCode !== 0) throw failure(`sysctl in ${ns}`, r.stderr);
}

/** Replace the tables named in `rules` (filter, nat) in a namespace, atomically. */
export async function iptablesRestore(ns: string, rules: string): Promise<void> {
  const r = await execa('nsenter', [...enterNet(ns), 'iptables-restore', '-w'], { input: rules, reject: false });
  if (r.exitCode !== 0) throw failure(`iptables-restore in ${ns}`, r.stderr);
}

/**
 * One persistent UTS namespace per device, each bound to its file and given its hostname,
 * in one shell process (a spawn per device is what costs).
 */
export async function createUtsNamespaces(entries: { file: string; hostname: string }[]): Promise<void> {
  if (!entries.length) return;
  await Promise.all([...new Set(entries.map((e) => path.dirname(e.file)))].map((d) => mkdir(d, { recursive: true })));
  await Promise.all(entries.map((e) => writeFile(e.file, '')));
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const script = entries.map((e) => `unshare --uts=${q(e.file)} hostname ${q(e.hostname)}`).join('\n') + '\n';
  // Dies with the CLI (a killed `up`): no mount is made after `down` cleaned up.
  const r = await execa('setpriv', ['--pdeathsig', 'KILL', '--', 'sh', '-e', '-s'], { input: script, reject: false });
  if (r.exitCode !== 0) throw failure('unshare --uts (device hostnames)', r.stderr);
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
