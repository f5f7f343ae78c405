// Golden files of calico/ and kubernetes/ for every lab (UPDATE_GOLDEN=1 rewrites them),
// and determinism: the same lab renders byte-identical output, also from a fresh plan.
import test from 'ava';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { renderCalico } from '../../src/render/calico.js';
import { renderKubernetes } from '../../src/render/kubernetes.js';
import type { Artifact } from '../../src/render/types.js';

const goldenRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'golden');
const LABS = ['calico-vxlan', 'calico-bgp', 'calico-ipip', 'bridge-static', 'kthw-static'];
const OWNED = ['calico', 'kubernetes'];
const update = process.env.UPDATE_GOLDEN === '1';

async function render(name: string): Promise<Artifact[]> {
  const p = plan(await loadLab(name));
  return [...renderCalico(p), ...renderKubernetes(p)];
}

function filesUnder(dir: string, rel = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name), path.join(rel, e.name)) : [path.join(rel, e.name)]);
}

for (const name of LABS) {
  test(`${name}: calico/ and kubernetes/ match the golden files`, async (t) => {
    const artifacts = await render(name);
    const labDir = path.join(goldenRoot, name);
    if (update) {
      for (const sub of OWNED) rmSync(path.join(labDir, sub), { recursive: true, force: true });
      for (const a of artifacts) {
        mkdirSync(path.dirname(path.join(labDir, a.path)), { recursive: true });
        writeFileSync(path.join(labDir, a.path), a.content);
      }
    }
    t.true(artifacts.length > 0);
    const expected = OWNED.flatMap((sub) => filesUnder(path.join(labDir, sub), sub)).sort();
    t.deepEqual(artifacts.map((a) => a.path).sort(), expected, 'same set of files (UPDATE_GOLDEN=1 to accept)');
    for (const a of artifacts) {
      const file = path.join(labDir, a.path);
      if (existsSync(file)) t.is(a.content, readFileSync(file, 'utf8'), `${a.path} (UPDATE_GOLDEN=1 to accept)`);
    }
  });

  test(`${name}: rendering is deterministic (twice, and from a fresh plan)`, async (t) => {
    const p = plan(await loadLab(name));
    const once = [...renderCalico(p), ...renderKubernetes(p)];
    const twice = [...renderCalico(p), ...renderKubernetes(p)];
    const fresh = await render(name);
    t.deepEqual(twice, once);
    t.deepEqual(fresh, once);
  });
}
