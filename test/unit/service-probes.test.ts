// Which pod verify asks a Service from: one the policies let through to every endpoint,
// preferably not an endpoint itself (src/policy/verify.ts serviceProbes).
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { serviceProbes } from '../../src/policy/verify.js';
import { repoRoot as root } from '../../src/paths.js';

const lab = async (workloads: string) => {
  const text = (await readFile(path.join(root, 'labs/calico-bgp.yaml'), 'utf8')).replace(/^workloads:\n(  - .*\n)+/m, `workloads:\n${workloads}`);
  return planOf(parseLab(text, 'calico-bgp.yaml'));
};
const policies = async (name: string) => parsePolicies(await readFile(path.join(root, 'labs/policies', name), 'utf8'), name);

test('a client outside the Service when there is one, else one of its pods; none when no pod may reach every endpoint', async (t) => {
  const two = await lab('  - { name: nginx, namespace: space1, replicas: 4 }\n  - { name: client, namespace: space1, replicas: 1 }\n');
  const probes = serviceProbes(two, []);
  const nginx = probes.find((p) => p.service === 'space1/nginx')!;
  t.is(two.pods.find((p) => p.name === nginx.client)!.workload, 'client');
  const one = await lab('  - { name: nginx, namespace: space1, replicas: 4 }\n');
  const [only] = serviceProbes(one, []);
  t.is(only.client, one.pods[0].name, 'the first pod, itself an endpoint');
  t.deepEqual(serviceProbes(one, await policies('default-deny-ingress.yaml')), [], 'ingress denied: no pod reaches the others');
  t.is(serviceProbes(one, await policies('allow-all-ingress.yaml'))[0].client, one.pods[0].name);
});
