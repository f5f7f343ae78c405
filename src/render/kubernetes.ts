// plan -> kubernetes/: kubeadm configs (init + one join per other node), the workloads,
// and for bridge-CNI labs the per-node CNI configs. Objects are typed data serialised
// with `yaml`/JSON (see k8s/serialize.ts for why these are not handlebars templates).
import type { Plan } from '../plan/types.js';
import type { Artifact } from './types.js';
import { kubeadmConfigs } from './k8s/kubeadm-objects.js';
import { deployment, namespaces } from './k8s/workload-objects.js';
import { bridgeConf, loopbackConf } from './k8s/cni-objects.js';
import { generatedHeader, toJson, toYamlStream } from './k8s/serialize.js';

export function renderKubernetes(plan: Plan): Artifact[] {
  const cluster = plan.cluster;
  if (!cluster || plan.networking === 'none') return [];
  const out: Artifact[] = [];
  const { init, joins } = kubeadmConfigs(plan, cluster);
  const firstCp = init[0].nodeRegistration.name;
  const upload = plan.nodes.filter((n) => n.role === 'control-plane').length > 1 ? ' --upload-certs' : '';
  out.push({
    path: 'kubernetes/kubeadm-config.yaml',
    content: toYamlStream(init.map((obj) => ({ obj })), generatedHeader(plan.name, `kubeadm init on ${firstCp}: kubeadm init --config kubeadm-config.yaml${upload}`)),
  });
  for (const j of joins) {
    out.push({
      path: `kubernetes/join-${j.node}.yaml`,
      content: toYamlStream([{ obj: j.config }], generatedHeader(plan.name, `kubeadm join on ${j.node}: kubeadm join --config join-${j.node}.yaml`)),
    });
  }
  const workloads = plan.lab.workloads;
  if (workloads.length) {
    const docs = [...namespaces(workloads), ...workloads.map(deployment)].map((obj) => ({ obj }));
    out.push({ path: 'kubernetes/workloads.yaml', content: toYamlStream(docs, generatedHeader(plan.name, 'Workloads: kubectl apply -f workloads.yaml')) });
  }
  if (plan.networking === 'bridge') {
    // Installed as /etc/cni/net.d/10-bridge.conf (per node) and 99-loopback.conf (all nodes).
    for (const node of plan.nodes) out.push({ path: `kubernetes/cni/${node.name}/10-bridge.conf`, content: toJson(bridgeConf(node)) });
    out.push({ path: 'kubernetes/cni/99-loopback.conf', content: toJson(loopbackConf()) });
  }
  return out;
}
