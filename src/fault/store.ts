// The faults in force on a running lab, on disk: what each one did and how to undo it.
// Written atomically after each change (src/state/json-file.ts); `down` removes the file.
import path from 'node:path';
import { stateRoot } from '../paths.js';
import { checkFields, readJson, removeJson, writeJsonAtomic } from '../state/json-file.js';
import type { FaultRecord } from './model.js';

const file = (lab: string) => path.join(stateRoot, 'faults', `${lab}.json`);

/** The faults in force; a damaged file reads as none (status and down must go on). */
export async function readFaults(lab: string): Promise<FaultRecord[]> {
  const r = await readJson<{ faults: FaultRecord[] }>(file(lab), (v) => checkFields(v, { faults: 'array' }));
  return r.kind === 'ok' ? r.value.faults : [];
}

export async function writeFaults(lab: string, faults: FaultRecord[]): Promise<void> {
  if (!faults.length) return forgetFaults(lab);
  await writeJsonAtomic(file(lab), { lab, faults });
}

/** On `down` (and before `up`): faults die with the lab. */
export async function forgetFaults(lab: string): Promise<void> {
  await removeJson(file(lab));
}
