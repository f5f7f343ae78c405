// Thin wrappers over iproute2 and friends. Commands go in batches (one process per
// namespace, not one per command) because spawning dominates the time of `up`.
import { execa } from 'execa';
import { readdir } from 'node:fs/promises';
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
