// Which labs are running and on which provider, so every command after `up` (verify,
// exec, down...) finds the right provider without being told again.
import { mkdir, readFile, writeFile, rm, readdir } from 'node:fs/promises';
import path from 'node:path';
import { stateRoot } from '../paths.js';

export interface RunningLab {
  lab: string;
  provider: 'emulator' | 'libvirt';
  labFile: string;
  artifactsDir: string;
  startedAt: string;
}

const dir = () => path.join(stateRoot, 'labs');
const file = (lab: string) => path.join(dir(), `${lab}.json`);

export async function recordRunning(entry: RunningLab): Promise<void> {
  await mkdir(dir(), { recursive: true });
  await writeFile(file(entry.lab), JSON.stringify(entry, null, 2) + '\n');
}

export async function findRunning(lab: string): Promise<RunningLab | undefined> {
  try {
    return JSON.parse(await readFile(file(lab), 'utf8')) as RunningLab;
  } catch {
    return undefined;
  }
}

export async function forgetRunning(lab: string): Promise<void> {
  await rm(file(lab), { force: true });
}

export async function listRunning(): Promise<RunningLab[]> {
  let names: string[] = [];
  try { names = await readdir(dir()); } catch { return []; }
  const all = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => findRunning(n.slice(0, -5))));
  return all.filter((x): x is RunningLab => !!x).sort((a, b) => a.lab.localeCompare(b.lab));
}
