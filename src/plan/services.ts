// Namespaces with their labels, and one Service per workload (DESIGN 8.3): a cluster IP
// from serviceSubnet, the workload's ports, a node port where the lab asks, and the
// workload's pods as endpoints (all ready: the emulator's pods are up with the lab).
import type { Lab } from '../lab/types.js';
import type { PlanNamespace, Pod, Service } from './types.js';
import { NODE_PORT_BASE, SERVICE_IP_OFFSET } from '../lab/workload-checks.js';
import { nthAddress } from './ip.js';

/** The label Kubernetes puts on every namespace (since 1.21). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export function planNamespaces(lab: Lab): PlanNamespace[] {
  const names = [...new Set([...lab.workloads.map((w) => w.namespace), ...lab.namespaces.map((n) => n.name)])];
  return names.sort().map((name) => ({
    name, labels: { ...lab.namespaces.find((n) => n.name === name)?.labels, [NAMESPACE_NAME_LABEL]: name },
  }));
}

export function planServices(lab: Lab, pods: Pod[]): Service[] {
  const subnet = lab.kubernetes?.serviceSubnet;
  if (!subnet || !lab.cni) return [];
  const explicit = new Set(lab.workloads.flatMap((w) => (w.service.nodePort ? [w.service.nodePort] : [])));
  let nextNodePort = NODE_PORT_BASE;
  const freeNodePort = () => {
    while (explicit.has(nextNodePort)) nextNodePort++;
    return nextNodePort++;
  };
  return lab.workloads.map((w, i) => ({
    name: w.name,
    namespace: w.namespace,
    type: w.service.type,
    clusterIP: w.service.clusterIP ?? nthAddress(subnet, SERVICE_IP_OFFSET + i),
    selector: { app: w.name },
    ports: w.ports.map((p, k) => ({
      ...(p.name ? { name: p.name } : {}), protocol: 'TCP' as const, port: p.port, targetPort: p.port,
      ...(w.service.type === 'NodePort' ? { nodePort: k === 0 && w.service.nodePort ? w.service.nodePort : freeNodePort() } : {}),
    })),
    endpoints: pods.filter((p) => p.workload === w.name).map((p) => ({ pod: p.name, ip: p.ip, node: p.node })),
  }));
}
