// kubeadm configuration as typed values: InitConfiguration + ClusterConfiguration +
// KubeletConfiguration for the first control-plane node, a JoinConfiguration for every
// other node. kubeadm.k8s.io/v1beta3 up to Kubernetes 1.30, v1beta4 from 1.31 (where
// extra arguments became name/value lists).
import { createHash } from 'node:crypto';
import type { KNode, Plan } from '../../plan/types.js';
import { badInput } from '../../errors.js';

export const API_SERVER_PORT = 6443;
export const CRI_SOCKET = 'unix:///var/run/containerd/containerd.sock';

export type KubeadmApi = 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';
/** v1beta3: a string map; v1beta4: an ordered list of name/value pairs. */
export type ExtraArgs = Record<string, string> | { name: string; value: string }[];

export interface NodeRegistration {
  name: string;
  criSocket: string;
  kubeletExtraArgs: ExtraArgs;
  /** Present (empty) only when pods must run on control-plane nodes. */
  taints?: never[];
}

export interface APIEndpoint { advertiseAddress: string; bindPort: number }

export interface BootstrapToken { token: string; description: string; ttl: string; usages: string[]; groups: string[] }

export interface InitConfiguration {
  apiVersion: KubeadmApi;
  kind: 'InitConfiguration';
  bootstrapTokens: BootstrapToken[];
  localAPIEndpoint: APIEndpoint;
  nodeRegistration: NodeRegistration;
  certificateKey?: string;
}

export interface ClusterConfiguration {
  apiVersion: KubeadmApi;
  kind: 'ClusterConfiguration';
  clusterName: string;
  kubernetesVersion: string;
  controlPlaneEndpoint: string;
  networking: { dnsDomain: string; podSubnet: string; serviceSubnet: string };
  controllerManager?: { extraArgs: ExtraArgs };
}

export interface KubeletConfiguration {
  apiVersion: 'kubelet.config.k8s.io/v1beta1';
  kind: 'KubeletConfiguration';
  cgroupDriver: 'systemd';
}

export interface JoinConfiguration {
  apiVersion: KubeadmApi;
  kind: 'JoinConfiguration';
  discovery: { bootstrapToken: { apiServerEndpoint: string; token: string; unsafeSkipCAVerification: true } };
  nodeRegistration: NodeRegistration;
  controlPlane?: { localAPIEndpoint: APIEndpoint; certificateKey: string };
}

type Cluster = NonNullable<Plan['cluster']>;

/** "1.30" -> v1.30.0, "1.30.4" -> v1.30.4 (a fixed version: "stable-1.30" needs the internet). */
export function kubernetesVersion(version: string): { full: string; minor: number } {
  const m = /^v?1\.(\d+)(?:\.(\d+))?$/.exec(version);
  if (!m) throw badInput(`kubernetes.version '${version}' is not a 1.MINOR[.PATCH] version`);
  const minor = Number(m[1]);
  if (minor < 22) throw badInput(`kubernetes.version ${version}: kubeadm configs are generated for 1.22 and later`);
  return { full: `v1.${minor}.${m[2] ?? 0}`, minor };
}

export const kubeadmApi = (minor: number): KubeadmApi => (minor >= 31 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3');

function extraArgs(api: KubeadmApi, args: [string, string][]): ExtraArgs {
  return api === 'kubeadm.k8s.io/v1beta4' ? args.map(([name, value]) => ({ name, value })) : Object.fromEntries(args);
}

const digest = (what: string, lab: string) => createHash('sha256').update(`fabric-lab ${what} ${lab}`).digest('hex');

/**
 * The lab's bootstrap token, `[a-z0-9]{6}.[a-z0-9]{16}` as kubeadm requires, derived from
 * the lab name so rendering stays deterministic. A lab cluster is disposable and private
 * to its namespaces or VMs; never reuse this scheme for a real cluster.
 */
export function bootstrapToken(lab: string): string {
  const h = digest('bootstrap-token', lab);
  return `${h.slice(0, 6)}.${h.slice(6, 22)}`;
}

/** Key for the control-plane certificates uploaded by `kubeadm init --upload-certs` (32 bytes, hex). */
export const certificateKey = (lab: string): string => digest('certificate-key', lab);

function nodeRegistration(api: KubeadmApi, node: KNode, untaint: boolean): NodeRegistration {
  const args: [string, string][] = [['node-ip', node.addr.ip]];
  const labels = Object.entries(node.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`);
  if (labels.length) args.push(['node-labels', labels.join(',')]);
  const reg: NodeRegistration = { name: node.name, criSocket: CRI_SOCKET, kubeletExtraArgs: extraArgs(api, args) };
  if (untaint && node.role === 'control-plane') reg.taints = [];
  return reg;
}

export interface KubeadmConfigs {
  init: [InitConfiguration, ClusterConfiguration, KubeletConfiguration];
  joins: { node: string; config: JoinConfiguration }[];
}

export function kubeadmConfigs(plan: Plan, cluster: Cluster): KubeadmConfigs {
  const { full, minor } = kubernetesVersion(cluster.version);
  const api = kubeadmApi(minor);
  const first = plan.nodes.find((n) => n.name === cluster.controlPlane);
  if (!first) throw new Error(`control-plane node ${cluster.controlPlane} is not in the plan`);
  const endpoint = `${first.addr.ip}:${API_SERVER_PORT}`;
  const token = bootstrapToken(plan.name);
  const key = certificateKey(plan.name);
  const controlPlanes = plan.nodes.filter((n) => n.role === 'control-plane');
  // kubeadm taints control-plane nodes; lift it only where the plan puts pods on them.
  const untaint = plan.pods.some((p) => controlPlanes.some((n) => n.name === p.node));
  const haControlPlane = controlPlanes.length > 1;

  const init: InitConfiguration = {
    apiVersion: api,
    kind: 'InitConfiguration',
    bootstrapTokens: [{
      token,
      description: `fabric-lab ${plan.name}: joins the lab's nodes`,
      ttl: '0s', // never expires: nodes of a lab may be re-provisioned later
      usages: ['signing', 'authentication'],
      groups: ['system:bootstrappers:kubeadm:default-node-token'],
    }],
    localAPIEndpoint: { advertiseAddress: first.addr.ip, bindPort: API_SERVER_PORT },
    nodeRegistration: nodeRegistration(api, first, untaint),
  };
  if (haControlPlane) init.certificateKey = key;

  const clusterConfig: ClusterConfiguration = {
    apiVersion: api,
    kind: 'ClusterConfiguration',
    clusterName: plan.name,
    kubernetesVersion: full,
    controlPlaneEndpoint: endpoint,
    networking: { dnsDomain: 'cluster.local', podSubnet: cluster.podSubnet, serviceSubnet: cluster.serviceSubnet },
  };
  // Bridge CNI: each node's pod CIDR is fixed by the plan (node order) in its CNI config;
  // the controller-manager must not hand out different ones (seed 004 does the same).
  if (plan.networking === 'bridge') clusterConfig.controllerManager = { extraArgs: extraArgs(api, [['allocate-node-cidrs', 'false']]) };

  const kubelet: KubeletConfiguration = { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', cgroupDriver: 'systemd' };

  const joins = plan.nodes.filter((n) => n !== first).map((node) => {
    const config: JoinConfiguration = {
      apiVersion: api,
      kind: 'JoinConfiguration',
      discovery: { bootstrapToken: { apiServerEndpoint: endpoint, token, unsafeSkipCAVerification: true } },
      nodeRegistration: nodeRegistration(api, node, untaint),
    };
    if (node.role === 'control-plane') {
      config.controlPlane = { localAPIEndpoint: { advertiseAddress: node.addr.ip, bindPort: API_SERVER_PORT }, certificateKey: key };
    }
    return { node: node.name, config };
  });
  return { init: [init, clusterConfig, kubelet], joins };
}
