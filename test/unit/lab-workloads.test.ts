// Lab-file additions of DESIGN 8.3: workload labels, ports and Services, namespace
// labels, the outside host; non-default values, defaults, and positioned errors.
import test from 'ava';
import { parseLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { LabFileError } from '../../src/errors.js';

const BASE = `name: t
lan: { subnet: 10.240.0.0/24, gateway: 10.240.0.1 }
kubernetes:
  version: "1.30"
  podSubnet: 10.64.0.0/16
  serviceSubnet: 10.96.0.0/16
  nodes:
    - { name: cp, role: control-plane }
    - { name: w1 }
    - { name: w2 }
cni: { plugin: calico, calico: { mode: vxlan } }
`;

const load = (extra: string) => parseLab(BASE + extra, '/x/t.yaml');
function problems(extra: string): string[] {
  try {
    load(extra);
  } catch (e) {
    if (e instanceof LabFileError) return e.problems.map((p) => `${p.line}:${p.col} ${p.path} ${p.message}`);
    throw e;
  }
  return [];
}

test('non-default labels, ports, Service and namespace labels reach the plan', (t) => {
  const lab = load(`namespaces:
  - { name: shop, labels: { team: blue, "example.com/tier": front } }
  - { name: empty }
workloads:
  - name: web
    namespace: shop
    replicas: 2
    labels: { role: frontend }
    ports: [{ name: web, port: 8080 }, { port: 9090 }]
    service: { type: NodePort, clusterIP: 10.96.1.1 }
  - { name: db, namespace: shop, service: { type: NodePort, nodePort: 30080 } }
  - { name: api }
`);
  const p = plan(lab);
  const web = p.pods.filter((x) => x.workload === 'web');
  t.deepEqual(web[0].labels, { role: 'frontend', app: 'web' });
  t.deepEqual(web[0].ports, [{ name: 'web', port: 8080, protocol: 'TCP' }, { port: 9090, protocol: 'TCP' }]);
  t.deepEqual(p.pods.find((x) => x.workload === 'api')!.ports, [{ name: 'http', port: 80, protocol: 'TCP' }], 'default port 80 named http');
  t.deepEqual(p.namespaces, [
    { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } },
    { name: 'empty', labels: { 'kubernetes.io/metadata.name': 'empty' } },
    { name: 'shop', labels: { team: 'blue', 'example.com/tier': 'front', 'kubernetes.io/metadata.name': 'shop' } },
  ]);
  const [s1, s2, s3] = p.services;
  t.is(s1.clusterIP, '10.96.1.1');
  t.is(s1.type, 'NodePort');
  // Explicit 30080 belongs to db: web's two ports count on from 30081.
  t.deepEqual(s1.ports.map((x) => x.nodePort), [30081, 30082]);
  t.deepEqual(s2.ports.map((x) => x.nodePort), [30080]);
  t.is(s2.clusterIP, '10.96.0.101', 'workload i takes address 100 + i');
  t.is(s3.type, 'ClusterIP');
  t.is(s3.ports[0].nodePort, undefined);
  t.deepEqual(s1.endpoints.map((e) => e.pod), web.map((x) => x.name));
  t.deepEqual(s1.selector, { app: 'web' });
});

test('outside host: defaults and explicit values', (t) => {
  t.deepEqual(load('outside: {}\n').outside, { name: 'outside', subnet: '203.0.113.0/24', via: 'lan', port: 80 });
  t.deepEqual(load('outside: { name: inet, subnet: 198.51.100.0/30, port: 8080 }\n').outside, { name: 'inet', subnet: '198.51.100.0/30', via: 'lan', port: 8080 });
});

test('bad labels, ports, services and namespaces: every problem, positioned', (t) => {
  const got = problems(`namespaces:
  - { name: x, labels: { "kubernetes.io/metadata.name": y } }
  - { name: x }
workloads:
  - name: web
    labels: { "-bad": ok, good: "no spaces", app: other, n: 1 }
    ports: [{ name: a--b, port: 80 }, { name: "123", port: 80 }, { port: 70000 }]
    service: { nodePort: 30001, clusterIP: 10.97.0.1 }
  - { name: db, service: { type: NodePort, nodePort: 20000 } }
outside: { via: leaf9, subnet: 203.0.113.0/31 }
`);
  const want = [
    /^13:.*kubernetes.io\/metadata.name.*set by Kubernetes/,
    /^14:.*namespaces\[1\]\.name namespace "x" is already listed/,
    /^17:.*"-bad".*the name must be/,
    /^17:.*good label value "no spaces"/,
    /^17:.*labels\.app every pod is labelled app/,
    /^17:.*labels\.n must be text/,
    /^18:.*port name "a--b" must not contain "--"/,
    /^18:.*port name "123" must contain at least one letter/,
    /^18:.*port 80 is already listed/,
    /^18:.*must be between 1 and 65535/,
    /^19:.*nodePort only for type: NodePort/,
    /^19:.*clusterIP 10.97.0.1 is not a host address of serviceSubnet 10.96.0.0\/16/,
    /^20:.*nodePort must be between 30000 and 32767/,
    /^21:.*outside\.via on a lan the outside host hangs off the LAN switch/,
    /^21:.*outside\.subnet .*too small/,
  ];
  for (const re of want) t.true(got.some((g) => re.test(g)), `${re} in:\n${got.join('\n')}`);
});
