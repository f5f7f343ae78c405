// Golden files: test/golden/<lab>/ holds what each renderer wrote last time it was
// reviewed. UPDATE_GOLDEN=1 rewrites the parts a renderer owns; review the diff by eye.
import type { ExecutionContext } from 'ava';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Artifact } from '../../src/render/types.js';

export const goldenRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'golden');

/** Every file under dir, relative to it, sorted. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

/**
 * The artifacts equal the golden files under `owned` (top-level folders or files of the
 * lab's golden folder, the part this renderer writes): same set of files, same bytes.
 */
export function checkGolden(t: ExecutionContext, lab: string, artifacts: Artifact[], owned: string[]): void {
  const dir = path.join(goldenRoot, lab);
  if (process.env.UPDATE_GOLDEN) {
    for (const o of owned) rmSync(path.join(dir, o), { recursive: true, force: true });
    for (const a of artifacts) {
      mkdirSync(path.dirname(path.join(dir, a.path)), { recursive: true });
      writeFileSync(path.join(dir, a.path), a.content);
    }
  }
  const golden = owned.flatMap((o) => {
    const p = path.join(dir, o);
    if (!existsSync(p)) return [];
    return statSync(p).isDirectory() ? listFiles(p).map((f) => `${o}/${f}`) : [o];
  }).sort();
  t.true(artifacts.length > 0, 'something was rendered');
  t.deepEqual(artifacts.map((a) => a.path).sort(), golden, 'the same files (UPDATE_GOLDEN=1 to accept, then review the diff)');
  for (const a of artifacts) {
    if (golden.includes(a.path)) t.is(a.content, readFileSync(path.join(dir, a.path), 'utf8'), `${a.path} (UPDATE_GOLDEN=1 to accept)`);
  }
}
