// kubernetes/ artifacts: kubeadm init/join configs, workloads and bridge-CNI configs,
// parsed back from the rendered text and checked against the plan.
import test from 'ava';
import { parseAllDocuments } from 'yaml';
import { loadLab } from '../../src/lab/load.js';
import type { Lab } from '../../src/lab/types.js';
import { plan } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import { renderKubernetes } from '../../src/render/kubernetes.js';
import { bootstrapToken, certificateKey, kubernetesVersion } from '../../src/render/k8s/kubeadm-objects.js';
import { LabError } from '../../src/errors.js';

async function planOf(name: string, tweak?: (lab: Lab) => void): Promise<Plan> {
  const lab = await loadLab(name);
  tweak?.(lab);
  return plan(lab);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
function files(p: Plan): Map<string, string> {
  return new Map(renderKubernetes(p).map((a) => [a.path, a.content]));
}

function yamlDocs(text: string): any[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length) throw new Error(d.errors[0].message);
    return d.toJS();
  });
}

const byKind = (docs: any[], kind: string) => docs.filter((d) => d.kind === kind);

test('kubeadm-config: pod and service subnets, version, endpoint and the control-plane node', async (t) => {
  const p = await planOf('calico-vxlan');
  const docs = yamlDocs(files(p).get('kubernetes/kubeadm-config.yaml')!);
  t.deepEqual(docs.map((d) => d.kind), ['InitConfiguration', 'ClusterConfiguration', 'KubeletConfiguration']);
  const [init, cluster, kubelet] = docs;
  t.deepEqual(cluster.networking, { dnsDomain: 'cluster.local', podSubnet: '10.64.0.0/12', serviceSubnet: '10.80.0.0/12' });
  t.is(cluster.apiVersion, 'kubeadm.k8s.io/v1beta3');
  t.is(cluster.kubernetesVersion, 'v1.30.0');
  t.is(cluster.controlPlaneEndpoint, '10.0.101.100:6443');
  t.is(cluster.controllerManager, undefined, 'Calico: node CIDR allocation left to kubeadm defaults');
  t.deepEqual(init.localAPIEndpoint, { advertiseAddress: '10.0.101.100', bindPort: 6443 });
  t.is(init.nodeRegistration.name, 'k8s-master-l1-1');
  t.deepEqual(init.nodeRegistration.kubeletExtraArgs, { 'node-ip': '10.0.101.100', 'node-labels': 'rack=leaf1' });
  t.is(init.nodeRegistration.taints, undefined, 'control plane keeps its taint: pods go to workers');
  t.is(init.bootstrapTokens[0].token, bootstrapToken('calico-vxlan'));
  t.is(init.certificateKey, undefined, 'one control-plane node: no certificate upload');
  t.is(kubelet.apiVersion, 'kubelet.config.k8s.io/v1beta1');
});

for (const name of ['calico-bgp', 'calico-ipip', 'bridge-static', 'kthw-static']) {
  test(`${name}: kubeadm networking is the lab's podSubnet/serviceSubnet`, async (t) => {
    const lab = await loadLab(name);
    const cluster = byKind(yamlDocs(files(plan(lab)).get('kubernetes/kubeadm-config.yaml')!), 'ClusterConfiguration')[0];
    t.is(cluster.networking.podSubnet, lab.kubernetes!.podSubnet);
    t.is(cluster.networking.serviceSubnet, lab.kubernetes!.serviceSubnet);
  });
}

test('one join config per other node, each with its own name, node-ip and the shared token', async (t) => {
  const p = await planOf('calico-bgp');
  const f = files(p);
  const joins = [...f.keys()].filter((k) => k.startsWith('kubernetes/join-')).sort();
  t.deepEqual(joins, p.nodes.slice(1).map((n) => `kubernetes/join-${n.name}.yaml`).sort());
  for (const node of p.nodes.slice(1)) {
    const [join] = yamlDocs(f.get(`kubernetes/join-${node.name}.yaml`)!);
    t.is(join.kind, 'JoinConfiguration');
    t.deepEqual(join.discovery.bootstrapToken, { apiServerEndpoint: '10.0.101.100:6443', token: bootstrapToken('calico-bgp'), unsafeSkipCAVerification: true });
    t.is(join.nodeRegistration.name, node.name);
    t.is(join.nodeRegistration.kubeletExtraArgs['node-ip'], node.addr.ip);
    t.is(join.nodeRegistration.kubeletExtraArgs['node-labels'], `rack=${node.rack}`);
    t.is(join.controlPlane, undefined);
  }
});

test('several control-plane nodes: init uploads certificates, the others join as control plane', async (t) => {
  const f = files(await planOf('kthw-static'));
  const [init] = yamlDocs(f.get('kubernetes/kubeadm-config.yaml')!);
  t.is(init.certificateKey, certificateKey('kthw-static'));
  t.regex(f.get('kubernetes/kubeadm-config.yaml')!, /kubeadm init --config kubeadm-config\.yaml --upload-certs/);
  const [cp1] = yamlDocs(f.get('kubernetes/join-controller-1.yaml')!);
  t.deepEqual(cp1.controlPlane, { localAPIEndpoint: { advertiseAddress: '10.240.0.11', bindPort: 6443 }, certificateKey: certificateKey('kthw-static') });
  const [w0] = yamlDocs(f.get('kubernetes/join-worker-0.yaml')!);
  t.is(w0.controlPlane, undefined);
  t.is(w0.nodeRegistration.kubeletExtraArgs['node-labels'], undefined, 'no rack on a LAN');
});

test('the control-plane taint is lifted only where the plan puts pods on control-plane nodes', async (t) => {
  const p = await planOf('bridge-static');
  const onControlPlane = p.pods.some((pod) => p.nodes.find((n) => n.name === pod.node)?.role === 'control-plane');
  const [init] = yamlDocs(files(p).get('kubernetes/kubeadm-config.yaml')!);
  t.is(init.nodeRegistration.taints === undefined, !onControlPlane);
  if (onControlPlane) t.deepEqual(init.nodeRegistration.taints, []);
  const [w] = yamlDocs(files(p).get('kubernetes/join-k8s-worker.yaml')!);
  t.is(w.nodeRegistration.taints, undefined, 'workers have no taint to lift');
});

test('bootstrap token and certificate key: kubeadm formats, deterministic, per lab', (t) => {
  t.regex(bootstrapToken('calico-vxlan'), /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
  t.is(bootstrapToken('calico-vxlan'), bootstrapToken('calico-vxlan'));
  t.not(bootstrapToken('calico-vxlan'), bootstrapToken('calico-bgp'));
  t.regex(certificateKey('x'), /^[0-9a-f]{64}$/);
});

test('Kubernetes version: MINOR gets .0, PATCH is kept, API by version, old or malformed versions refused', async (t) => {
  t.deepEqual(kubernetesVersion('1.30'), { full: 'v1.30.0', minor: 30 });
  t.deepEqual(kubernetesVersion('1.29.4'), { full: 'v1.29.4', minor: 29 });
  const err = t.throws(() => kubernetesVersion('1.21'));
  t.true(err instanceof LabError);
  t.throws(() => kubernetesVersion('latest'), { instanceOf: LabError });
  const p = await planOf('calico-bgp', (lab) => { lab.kubernetes!.version = '1.31'; });
  const docs = yamlDocs(files(p).get('kubernetes/kubeadm-config.yaml')!);
  t.true(docs.filter((d) => d.kind !== 'KubeletConfiguration').every((d) => d.apiVersion === 'kubeadm.k8s.io/v1beta4'));
  t.deepEqual(docs[0].nodeRegistration.kubeletExtraArgs, [{ name: 'node-ip', value: '10.0.101.100' }, { name: 'node-labels', value: 'rack=leaf1' }]);
  const [join] = yamlDocs(files(p).get('kubernetes/join-k8s-node-l1-1.yaml')!);
  t.is(join.apiVersion, 'kubeadm.k8s.io/v1beta4');
});

test('workloads: a Namespace unless default, a Deployment with replicas, image and anti-affinity', async (t) => {
  const docs = yamlDocs(files(await planOf('calico-vxlan')).get('kubernetes/workloads.yaml')!);
  t.deepEqual(docs.map((d) => `${d.kind}/${d.metadata.name}`), ['Namespace/space1', 'Deployment/nginx']);
  const dep = docs[1];
  t.is(dep.metadata.namespace, 'space1');
  t.is(dep.spec.replicas, 4);
  t.deepEqual(dep.spec.selector.matchLabels, { app: 'nginx' });
  t.deepEqual(dep.spec.template.metadata.labels, { app: 'nginx' });
  t.regex(dep.spec.template.spec.containers[0].image, /^nginx:/);
  const pref = dep.spec.template.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  t.is(pref[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname');
  t.deepEqual(pref[0].podAffinityTerm.labelSelector.matchLabels, { app: 'nginx' });

  const bb = yamlDocs(files(await planOf('kthw-static')).get('kubernetes/workloads.yaml')!);
  t.deepEqual(bb.map((d) => d.kind), ['Deployment'], 'default namespace: no Namespace document');
  t.regex(bb[0].spec.template.spec.containers[0].image, /^busybox:/);
  t.truthy(bb[0].spec.template.spec.containers[0].command, 'a shell image needs a long-running command');
});

test('an unknown workload name runs nginx; no workloads, no workloads.yaml', async (t) => {
  const p = await planOf('calico-ipip', (lab) => { lab.workloads = [{ name: 'web', namespace: 'default', replicas: 1, labels: {}, ports: [{ name: 'http', port: 80 }], service: { type: 'ClusterIP' } }]; });
  const [dep] = yamlDocs(files(p).get('kubernetes/workloads.yaml')!);
  t.regex(dep.spec.template.spec.containers[0].image, /^nginx:/);
  t.false(files(await planOf('calico-ipip', (lab) => { lab.workloads = []; })).has('kubernetes/workloads.yaml'));
});

test('bridge CNI: per-node bridge conf on the node CIDR with the bridge gateway, and loopback', async (t) => {
  const p = await planOf('kthw-static');
  const f = files(p);
  for (const node of p.nodes) {
    const conf = JSON.parse(f.get(`kubernetes/cni/${node.name}/10-bridge.conf`)!);
    t.like(conf, { type: 'bridge', bridge: 'cbr0', isGateway: true, ipMasq: false });
    t.deepEqual(conf.ipam.ranges, [[{ subnet: node.blocks[0], gateway: node.bridge!.addr.ip }]]);
    t.is(conf.ipam.type, 'host-local');
  }
  t.deepEqual(JSON.parse(f.get('kubernetes/cni/99-loopback.conf')!), { cniVersion: '1.0.0', name: 'lo', type: 'loopback' });
  const worker0 = JSON.parse(f.get('kubernetes/cni/worker-0/10-bridge.conf')!);
  t.deepEqual(worker0.ipam.ranges[0][0], { subnet: '10.200.3.0/24', gateway: '10.200.3.1' });
  const cm = byKind(yamlDocs(f.get('kubernetes/kubeadm-config.yaml')!), 'ClusterConfiguration')[0].controllerManager;
  t.deepEqual(cm, { extraArgs: { 'allocate-node-cidrs': 'false' } }, 'the plan, not the controller, owns node CIDRs');
});

test('Calico labs get no CNI configs; a fabric-only lab gets no kubernetes/ files', async (t) => {
  t.false([...files(await planOf('calico-vxlan')).keys()].some((k) => k.startsWith('kubernetes/cni/')));
  const fabricOnly = await planOf('calico-vxlan', (lab) => { delete lab.kubernetes; delete lab.cni; lab.workloads = []; });
  t.deepEqual(renderKubernetes(fabricOnly), []);
});

test('YAML scalars that look like other types stay strings when read back', async (t) => {
  const text = files(await planOf('bridge-static')).get('kubernetes/kubeadm-config.yaml')!;
  t.regex(text, /allocate-node-cidrs: "false"/);
  t.regex(text, /ttl: 0s/);
});
