// Which labs are running and on which provider, so every command after `up` (verify,
// exec, down...) finds the right provider without being told again. One small JSON file
// per running copy under <state root>/labs/, named by its key (lab, or lab_instance),
// written atomically (src/state/json-file.ts); a damaged entry is reported as such and
// never stops commands on other labs.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { stateRoot } from '../paths.js';
import { parseRunKey, runKey } from '../workshop/instance.js';
import { checkFields, readJson, removeJson, writeJsonAtomic, type JsonRead } from '../state/json-file.js';

export interface RunningLab {
  lab: string;
  /** Set for a named instance (DESIGN 8.4); absent for the lab's default copy. */
  instance?: string;
  provider: 'emulator' | 'libvirt';
  labFile: string;
  artifactsDir: string;
  startedAt: string;
}

/** A registry entry that could not be read: the lab may still have things running. */
export interface DamagedEntry { lab: string; instance?: string; damaged: string }

const dir = () => path.join(stateRoot, 'labs');
/** One file per running copy, named by its key (lab, or lab_instance). */
const file = (key: string) => path.join(dir(), `${key}.json`);

function check(v: unknown): string | undefined {
  const bad = checkFields(v, { lab: 'string', provider: 'string', labFile: 'string', artifactsDir: 'string', startedAt: 'string' });
  if (bad) return bad;
  const p = (v as RunningLab).provider;
  return p === 'emulator' || p === 'libvirt' ? undefined : `unknown provider "${String(p).slice(0, 20)}"`;
}

export async function recordRunning(entry: RunningLab): Promise<void> {
  await writeJsonAtomic(file(runKey(entry.lab, entry.instance)), entry);
}

/** The registry entry of a running copy: ok, missing, or damaged (with the reason). */
export async function readRunning(lab: string, instance?: string): Promise<JsonRead<RunningLab>> {
  const key = runKey(lab, instance);
  const r = await readJson<RunningLab>(file(key), check);
  if (r.kind === 'ok' && runKey(r.value.lab, r.value.instance) !== key) return { kind: 'damaged', file: file(key), reason: `it names another lab ("${r.value.lab.slice(0, 40)}")` };
  return r;
}

/** The running copy, or undefined when it is not registered or its entry is damaged. */
export async function findRunning(lab: string, instance?: string): Promise<RunningLab | undefined> {
  const r = await readRunning(lab, instance);
  return r.kind === 'ok' ? r.value : undefined;
}

export async function forgetRunning(lab: string, instance?: string): Promise<void> {
  await removeJson(file(runKey(lab, instance)));
}

/** Every registered copy, damaged entries included (sorted by lab, then instance). */
export async function listRegistry(): Promise<(RunningLab | DamagedEntry)[]> {
  let names: string[] = [];
  try { names = await readdir(dir()); } catch { return []; }
  const keys = names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => parseRunKey(n.slice(0, -5)));
  const all = await Promise.all(keys.map(async (k): Promise<RunningLab | DamagedEntry> => {
    const r = await readRunning(k.lab, k.instance);
    return r.kind === 'ok' ? r.value : { ...k, damaged: r.kind === 'damaged' ? r.reason : 'vanished' };
  }));
  return all.sort((a, b) => a.lab.localeCompare(b.lab) || (a.instance ?? '').localeCompare(b.instance ?? '', undefined, { numeric: true }));
}

export const isDamaged = (e: RunningLab | DamagedEntry): e is DamagedEntry => 'damaged' in e;

/** Registered copies that could be read. */
export async function listRunning(): Promise<RunningLab[]> {
  return (await listRegistry()).filter((e): e is RunningLab => !isDamaged(e));
}
