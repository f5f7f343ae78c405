// LAB arguments of the commands that act on a running lab (down, status, verify, exec,
// shell, pods, capture): the name, and whether it names anything at all. A typo must not
// pass for "not running" (exit 3) or, for down, for success.
import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { badInput } from '../errors.js';
import { resolveLabFile } from '../lab/ref.js';
import { labsDir, stateRoot } from '../paths.js';
import { findRunning, listRunning, type RunningLab } from '../providers/registry.js';
import { didYouMean } from './suggest.js';
import { runKey } from '../workshop/instance.js';

/** The lab name of a LAB argument, without requiring the file to be valid (down must always work). */
export function labName(ref: string): string {
  const base = path.basename(resolveLabFile(ref)).replace(/\.ya?ml$/, '');
  if (!/^[a-z0-9-]{1,20}$/.test(base)) throw badInput(`"${ref}" is not a lab name (allowed: a-z, 0-9, -, up to 20 characters)`);
  return base;
}

const exists = (p: string) => access(p).then(() => true, () => false);

/**
 * The name of a lab that exists: running (or left half-built by the emulator), or a lab
 * file; with an instance, that copy of it. Anything else is bad input (exit 2) with the closest names.
 */
export async function knownLab(ref: string, instance?: string): Promise<{ name: string; running?: RunningLab }> {
  const name = labName(ref);
  const running = await findRunning(name, instance);
  if (running) return { name, running };
  // A lab file, or what a run left even if damaged: its registry entry or emulator state.
  const key = runKey(name, instance);
  const traces = [resolveLabFile(ref), path.join(stateRoot, 'labs', `${key}.json`), path.join(stateRoot, 'emulator', key)];
  if ((await Promise.all(traces.map(exists))).some(Boolean)) return { name };
  const all = await listRunning();
  // A lab that runs only as instances (status lists them, other commands ask which one).
  if (all.some((r) => r.lab === name)) return { name };
  const files = (await readdir(labsDir).catch(() => [] as string[])).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5));
  const live = [...new Set(all.map((r) => r.lab))];
  const hint = didYouMean(name, [...live, ...files]);
  const isPath = ref.includes('/') || /\.ya?ml$/.test(ref);
  throw badInput(`no lab ${isPath ? `file ${ref}` : `"${ref}"`}: it is neither in ${path.relative(process.cwd(), labsDir) || 'labs'}/ nor running.${hint}`
    + ` (\`lab list\` shows the labs${live.length ? `; running: ${live.join(', ')}` : ''})`);
}
