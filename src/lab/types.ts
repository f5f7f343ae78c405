// The lab file after validation, with every default applied (see labs/README.md for
// the defaults). Everything downstream reads this, never the raw YAML.

export type SwitchOs = 'cumulus' | 'frr';
export type NodeRole = 'control-plane' | 'worker';
export type CalicoMode = 'vxlan' | 'bgp' | 'ipip';
export type Peering = 'as-per-rack' | 'as-per-node';
export type RoutesToNodes = 'all' | 'default';
export type LibvirtDriver = 'kvm' | 'qemu';

export interface Spine { name: string; asn: number }
export interface Leaf { name: string; asn: number; rack: string }

export interface BgpTimers { keepalive: number; hold: number }

export interface Fabric {
  os: SwitchOs;
  /** From the file; absent: the plan scales them with the lab's size (plan/timers.ts). */
  bgpTimers?: BgpTimers;
  addressing: { loopback: string; p2p: string };
  spines: Spine[];
  leaves: Leaf[];
}

export interface Lan { subnet: string; gateway: string }

export interface KubeNode {
  name: string;
  /** Leaf the node is cabled to; absent on a `lan` underlay. */
  leaf?: string;
  role: NodeRole;
  /** Explicit address from the file, if any (the plan fills in defaults). */
  ip?: string;
}

export interface Kubernetes {
  version: string;
  podSubnet: string;
  serviceSubnet: string;
  /** The listed nodes, then those of `nodesPerLeaf` (node 1 of every leaf, then node 2 ...). */
  nodes: KubeNode[];
}

export interface CalicoSettings {
  mode: CalicoMode;
  blockSize: number;
  vxlanVNI: number;
  vxlanPort: number;
  natOutgoing: boolean;
  asNumber: number;
  peering: Peering;
  /** bgp mode: what each leaf sends its nodes, every route (Calico's default) or only a default route. */
  routesToNodes: RoutesToNodes;
}

export interface BridgeSettings {
  bridge: string;
  nodeCidrBits: number;
  masquerade: boolean;
}

export type Cni =
  | { plugin: 'calico'; calico: CalicoSettings }
  | { plugin: 'bridge'; bridge: BridgeSettings };

export interface WorkloadPort { name?: string; port: number }
export type ServiceType = 'ClusterIP' | 'NodePort';
export interface WorkloadService {
  type: ServiceType;
  /** Explicit address from the file, if any (the plan fills in the default). */
  clusterIP?: string;
  /** Explicit node port (type NodePort), if any (the plan fills in the default). */
  nodePort?: number;
}

export interface Workload {
  name: string;
  namespace: string;
  replicas: number;
  /** Pod labels besides `app: <name>`. */
  labels: Record<string, string>;
  /** TCP ports every pod serves (its responder listens on each). */
  ports: WorkloadPort[];
  service: WorkloadService;
}

export interface NamespaceSpec { name: string; labels: Record<string, string> }

/** A host outside the cluster, behind a border leaf (fabric) or the LAN switch. */
export interface Outside {
  name: string;
  /** Link between the border switch (first host) and the outside host (second host). */
  subnet: string;
  /** The border leaf (fabric) or `lan`. */
  via: string;
  /** TCP port its responder listens on. */
  port: number;
}

/** Optional `libvirt:` section: boxes and sizes for the libvirt provider. */
export interface LibvirtSettings {
  driver: LibvirtDriver;
  switchBox: string;   // default depends on fabric.os
  nodeBox: string;
  switchMemory: number; // MiB
  switchCpus: number;
  nodeMemory: number;
  nodeCpus: number;
  calicoVersion: string;
  /** Direct kernel boot for boxes without a bootloader (e.g. a locally built box). */
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

export interface Lab {
  name: string;
  description: string;
  /** Absolute path of the lab file, for messages. */
  file: string;
  fabric?: Fabric;
  lan?: Lan;
  kubernetes?: Kubernetes;
  cni?: Cni;
  workloads: Workload[];
  /** Namespaces with extra labels (others exist implicitly with only their name label). */
  namespaces: NamespaceSpec[];
  outside?: Outside;
  libvirt: LibvirtSettings;
}

/** How pods are networked: a Calico mode, the bridge CNI, or none (fabric-only lab). */
export type PodNetworking = CalicoMode | 'bridge' | 'none';

export function podNetworking(lab: Pick<Lab, 'cni'>): PodNetworking {
  if (!lab.cni) return 'none';
  return lab.cni.plugin === 'bridge' ? 'bridge' : lab.cni.calico.mode;
}
