// Which labs are running and on which provider, so every command after `up` (verify,
// exec, down...) finds the right provider without being told again.
import { mkdir, readFile, writeFile, rm, readdir } from 'node:fs/promises';
import path from 'node:path';
import { stateRoot } from '../paths.js';
import { runKey } from '../workshop/instance.js';

export interface RunningLab {
  lab: string;
  /** Set for a named instance (DESIGN 8.4); absent for the lab's default copy. */
  instance?: string;
  provider: 'emulator' | 'libvirt';
  labFile: string;
  artifactsDir: string;
  startedAt: string;
}

const dir = () => path.join(stateRoot, 'labs');
/** One file per running copy, named by its key (lab, or lab_instance). */
const file = (key: string) => path.join(dir(), `${key}.json`);

export async function recordRunning(entry: RunningLab): Promise<void> {
  await mkdir(dir(), { recursive: true });
  await writeFile(file(runKey(entry.lab, entry.instance)), JSON.stringify(entry, null, 2) + '\n');
}

export async function findRunning(lab: string, instance?: string): Promise<RunningLab | undefined> {
  return readEntry(runKey(lab, instance));
}

async function readEntry(key: string): Promise<RunningLab | undefined> {
  try {
    return JSON.parse(await readFile(file(key), 'utf8')) as RunningLab;
  } catch {
    return undefined;
  }
}

export async function forgetRunning(lab: string, instance?: string): Promise<void> {
  await rm(file(runKey(lab, instance)), { force: true });
}

export async function listRunning(): Promise<RunningLab[]> {
  let names: string[] = [];
  try { names = await readdir(dir()); } catch { return []; }
  const all = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => readEntry(n.slice(0, -5))));
  return all.filter((x): x is RunningLab => !!x)
    .sort((a, b) => a.lab.localeCompare(b.lab) || (a.instance ?? '').localeCompare(b.instance ?? '', undefined, { numeric: true }));
}
