// plan -> every artifact of DESIGN section 4. Pure: returns files; writeArtifacts does I/O.
import { mkdir, writeFile, rm, readdir, readFile, rmdir, lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Plan } from '../plan/types.js';
import type { Artifact } from './types.js';
import { badInput } from '../errors.js';
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

/** Marks a folder as written by `lab render`, listing the files it wrote (relative paths). */
export const MANIFEST = '.fabric-lab-render.json';

/**
 * Write artifacts under dir (`lab render --out`). The folder must be new, empty, or one an
 * earlier render wrote (it has the manifest): then only the files that render listed and
 * this one no longer writes are removed. Files the tool did not write are never touched, and
 * a non-empty folder without the manifest is refused (bad input, exit 2).
 */
export async function writeArtifacts(dir: string, artifacts: Artifact[], who = { what: `--out ${dir}`, tool: 'lab render' }): Promise<void> {
  const st = await lstat(dir).catch(() => undefined);
  if (st && !st.isDirectory()) throw badInput(`${who.what}: ${st.isSymbolicLink() ? 'is a symbolic link' : 'exists and is not a folder'}; give a new or empty folder`);
  const entries = st ? await readdir(dir) : [];
  let previous: string[] = [];
  if (entries.length) {
    const text = entries.includes(MANIFEST) ? await readFile(path.join(dir, MANIFEST), 'utf8').catch(() => '') : '';
    const listed = (() => { try { return (JSON.parse(text) as { files?: unknown }).files; } catch { return undefined; } })();
    if (!Array.isArray(listed)) {
      throw badInput(`${who.what} is not empty and was not written by ${who.tool} (no valid ${MANIFEST}): nothing written; give a new or empty folder`);
    }
    // Only plain relative paths inside dir count: a manifest edited to point elsewhere changes nothing.
    previous = listed.filter((f): f is string => typeof f === 'string' && !path.isAbsolute(f) && path.normalize(f) === f && !f.startsWith('..'));
  }
  const now = new Set(artifacts.map((a) => a.path));
  const stale = previous.filter((f) => !now.has(f));
  await Promise.all(stale.map((f) => rm(path.join(dir, f), { force: true })));
  // Folders emptied by that go too (only empty ones: rmdir never removes a user's file).
  const dirs = [...new Set(stale.flatMap((f) => ancestors(f)))].sort((a, b) => b.length - a.length);
  for (const d of dirs) await rmdir(path.join(dir, d)).catch(() => undefined);
  await addArtifacts(dir, artifacts);
  await writeFile(path.join(dir, MANIFEST), JSON.stringify({ tool: 'fabric-lab', files: [...now].sort() }, null, 2) + '\n');
}

/** a/b/c.txt -> [a/b, a] */
function ancestors(f: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(f); d !== '.' && d !== '/'; d = path.dirname(d)) out.push(d);
  return out;
}

/** Remove the generated folders of a previous render in the tool's own artifacts folder (`lab up`). */
export async function clearArtifacts(dir: string): Promise<void> {
  await Promise.all(['fabric-configs', 'calico', 'kubernetes', 'provision'].map((sub) => rm(path.join(dir, sub), { recursive: true, force: true })));
}

/** Write artifacts under dir without clearing anything (for a render done in parts). */
export async function addArtifacts(dir: string, artifacts: Artifact[]): Promise<void> {
  const dirs = new Set(artifacts.map((a) => path.dirname(path.join(dir, a.path))));
  await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
  await Promise.all(artifacts.map((a) => writeFile(path.join(dir, a.path), a.content, { mode: a.mode ?? 0o644 })));
}
