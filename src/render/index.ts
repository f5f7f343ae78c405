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
  const all = [...renderFabric(plan), ...renderCalico(plan), ...renderKubernetes(plan), ...renderVagrant(plan)];
  return all.sort((a, b) => a.path.localeCompare(b.path));
}

/** Write artifacts under dir, replacing what a previous render left there. */
export async function writeArtifacts(dir: string, artifacts: Artifact[]): Promise<void> {
  for (const sub of ['fabric-configs', 'calico', 'kubernetes', 'provision']) await rm(path.join(dir, sub), { recursive: true, force: true });
  const dirs = new Set(artifacts.map((a) => path.dirname(path.join(dir, a.path))));
  await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
  await Promise.all(artifacts.map((a) => writeFile(path.join(dir, a.path), a.content, { mode: a.mode ?? 0o644 })));
}
