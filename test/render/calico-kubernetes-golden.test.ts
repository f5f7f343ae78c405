// Golden files of calico/ and kubernetes/ for every lab (UPDATE_GOLDEN=1 rewrites them),
// and determinism: the same lab renders byte-identical output, also from a fresh plan.
import test from 'ava';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { renderCalico } from '../../src/render/calico.js';
import { renderKubernetes } from '../../src/render/kubernetes.js';
import type { Artifact } from '../../src/render/types.js';
import { checkGolden } from '../helpers/golden.js';

const LABS = ['calico-vxlan', 'calico-bgp', 'calico-ipip', 'bridge-static', 'kthw-static', 'rfc7938'];

async function render(name: string): Promise<Artifact[]> {
  const p = plan(await loadLab(name));
  return [...renderCalico(p), ...renderKubernetes(p)];
}

for (const name of LABS) {
  test(`${name}: calico/ and kubernetes/ match the golden files`, async (t) => {
    checkGolden(t, name, await render(name), ['calico', 'kubernetes']);
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
