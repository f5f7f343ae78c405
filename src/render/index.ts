// plan -> every artifact of DESIGN section 4. Pure: returns files; writeArtifacts does I/O.
import { mkdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Plan } from '../plan/types.js';
import type { Artifact } from './types.js';
import { renderFabric } from './fabric.js';
import { renderCalico } from './calico.js';
import { renderKubernetes } from './kubernetes.js';
import { renderVagrant } from './vagrant.js';

export type { Artifact };

export function renderAll(plan: Plan): Artifact[] {
  return sortByPath([...renderFabric(plan), ...renderRest(plan)]);
}

/** Everything but the switch configs: what the emulator never reads. */
export function renderRest(plan: Plan): Artifact[] {
  return sortByPath([...renderCalico(plan), ...renderKubernetes(plan), ...renderVagrant(plan)]);
}

export { renderFabric };

const sortByPath = (xs: Artifact[]) => xs.sort((a, b) => a.path.localeCompare(b.path));

/** Write artifacts under dir, replacing what a previous render left there. */
export async function writeArtifacts(dir: string, artifacts: Artifact[]): Promise<void> {
  await clearArtifacts(dir);
  await addArtifacts(dir, artifacts);
}

/** Remove the generated folders of a previous render (the rest of dir is left alone). */
export async function clearArtifacts(dir: string): Promise<void> {
  await Promise.all(['fabric-configs', 'calico', 'kubernetes', 'provision'].map((sub) => rm(path.join(dir, sub), { recursive: true, force: true })));
}

/** Write artifacts under dir without clearing anything (for a render done in parts). */
export async function addArtifacts(dir: string, artifacts: Artifact[]): Promise<void> {
  const dirs = new Set(artifacts.map((a) => path.dirname(path.join(dir, a.path))));
  await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
  await Promise.all(artifacts.map((a) => writeFile(path.join(dir, a.path), a.content, { mode: a.mode ?? 0o644 })));
}
