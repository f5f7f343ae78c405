// NetworkPolicy documents: valid ones load (several per file, namespace defaulting like
// kubectl), bad ones report every problem at file:line:col; the rules generated for
// them are accepted by iptables-restore itself.
import test from 'ava';
import { execa } from 'execa';
import { parsePolicies } from '../../src/policy/parse.js';
import { LabFileError } from '../../src/errors.js';
import { loadLab } from '../../src/lab/load.js';
import { plan as makePlan } from '../../src/plan/index.js';
import { nodeIptables } from '../../src/policy/node-rules.js';
import { readFile } from 'node:fs/promises';

function problems(src: string): string[] {
  try { parsePolicies(src, 'p.yaml'); } catch (e) {
    if (e instanceof LabFileError) return e.problems.map((p) => `${p.file}:${p.line}:${p.col} ${p.path} ${p.message}`);
    throw e;
  }
  return [];
}

test('several documents, namespace default, seed 002 files', async (t) => {
  const two = parsePolicies(await readFile('labs/policies/default-deny-ingress.yaml', 'utf8') + await readFile('labs/policies/allow-all-ingress.yaml', 'utf8'), 'x.yaml');
  t.deepEqual(two.map((p) => `${p.metadata.namespace}/${p.metadata.name}`), ['space1/default-deny-ingress', 'space1/allow-all-ingress']);
  const [p] = parsePolicies('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: a }\nspec: {}\n', 'y.yaml');
  t.is(p.metadata.namespace, 'default');
  t.deepEqual(p.spec.podSelector, {});
});

test('bad apiVersion, unknown field, bad selector, port out of range: all reported, positioned', (t) => {
  const got = problems(`apiVersion: networking.k8s.io/v1beta1
kind: NetworkPolicy
metadata: { name: Bad_Name }
spec:
  podSelecter: {}
  policyTypes: [Ingress, Sideways]
  ingress:
  - from:
    - podSelector: { matchExpressions: [{ key: pod, operator: In }] }
    - ipBlock: { cidr: 10.0.0.0/8, except: [192.168.0.0/16] }
      podSelector: {}
    ports:
    - port: 70000
    - { port: 80, endPort: 79 }
    - { port: http, endPort: 90 }
    - { protocol: ICMP }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ok }
spec: { podSelector: { matchLabels: { "bad key!": x } } }
`);
  const want = [
    /^p\.yaml:1:13 apiVersion .*lab policy takes networking\.k8s\.io\/v1/,
    /^p\.yaml:3:19 metadata\.name .*DNS subdomain/,
    /^p\.yaml:5:3 spec\.podSelecter unknown field "podSelecter" \(did you mean "podSelector"\?\)/,
    /^p\.yaml:6:26 spec\.policyTypes\[1\] "Sideways" is not a policy type/,
    /^p\.yaml:9:.*matchExpressions\[0\] .*values must be a non-empty list when operator is In|values.*non-empty/,
    /^p\.yaml:10:.*from\[1\] ipBlock may not be combined/,
    /except\[0\] must be a strict subset of cidr 10\.0\.0\.0\/8/,
    /^p\.yaml:13:13 .*ports\[0\]\.port port 70000 is out of range/,
    /ports\[1\]\.endPort must be greater than or equal to port/,
    /ports\[2\]\.endPort may only be set when port is a number/,
    /ports\[3\]\.protocol "ICMP" is not a supported protocol/,
    /^p\.yaml:21:.*matchLabels\["bad key!"\] label key/,
  ];
  for (const re of want) t.true(got.some((g) => re.test(g)), `${re} in:\n${got.join('\n')}`);
});

test('not YAML, not a mapping, no policy', (t) => {
  t.regex(problems('a: [\n')[0], /^p\.yaml:\d+:\d+ +YAML:/);
  t.regex(problems('- 1\n')[0], /must be a NetworkPolicy mapping/);
  t.regex(problems('')[0], /no NetworkPolicy in the file/);
});

const isRoot = process.getuid?.() === 0;
(isRoot ? test : test.skip)('generated Felix + kube-proxy rules are accepted by iptables-restore --test', async (t) => {
  const plan = makePlan(await loadLab('netpol'));
  const policies = parsePolicies(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: everything, namespace: x }
spec:
  podSelector: { matchExpressions: [{ key: pod, operator: NotIn, values: [c] }] }
  policyTypes: [Ingress, Egress]
  ingress:
  - from: [{ namespaceSelector: { matchLabels: { ns: y } }, podSelector: { matchLabels: { pod: b } } }, { ipBlock: { cidr: 10.64.0.0/12, except: [10.64.0.64/26] } }]
    ports: [{ port: serve-81-tcp }, { port: 80, endPort: 81 }, { protocol: UDP, port: 53 }]
  egress:
  - to: [{ podSelector: {} }]
    ports: [{ port: serve-80-tcp }]
`, 'all.yaml');
  for (const node of plan.nodes) {
    const rules = nodeIptables(plan, node.name, policies);
    const r = await execa('unshare', ['--net', 'iptables-restore', '--test'], { input: rules, reject: false });
    t.is(r.exitCode, 0, `${node.name}: ${r.stderr}\n${rules}`);
    if (plan.pods.some((p) => p.node === node.name && p.namespace === 'x' && p.labels.pod !== 'c')) t.regex(rules, /cali-pi-_\w+ -s 10\.64\.0\.0\/12 -m comment --comment "except" -j RETURN|-d 10\.64\.0\.64\/26 -m comment --comment "except"|-s 10\.64\.0\.64\/26 -m comment --comment "except" -j RETURN/);
  }
  t.regex(nodeIptables(plan, plan.nodes[1].name, []), /-A KUBE-SVC-\w{16} -m comment --comment "x\/xa:serve-80-tcp -> [\d.]+:80" -j KUBE-SEP-\w{16}/);
});
