// The faults in force on a running lab, on disk: what each one did and how to undo it.
// Written atomically (write + rename) after each change; `down` removes the file.
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stateRoot } from '../paths.js';
import type { FaultRecord } from './model.js';

const file = (lab: string) => path.join(stateRoot, 'faults', `${lab}.json`);

export async function readFaults(lab: string): Promise<FaultRecord[]> {
  try {
    return (JSON.parse(await readFile(file(lab), 'utf8')) as { faults: FaultRecord[] }).faults;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function writeFaults(lab: string, faults: FaultRecord[]): Promise<void> {
  const f = file(lab);
  if (!faults.length) return forgetFaults(lab);
  await mkdir(path.dirname(f), { recursive: true });
  await writeFile(`${f}.tmp`, JSON.stringify({ lab, faults }, null, 2) + '\n');
  await rename(`${f}.tmp`, f);
}

/** On `down` (and before `up`): faults die with the lab. */
export async function forgetFaults(lab: string): Promise<void> {
  await rm(file(lab), { force: true });
}
