// The plan: every address, interface, link, session, block and pod of a lab, and the
// intent that must hold once it is up. Pure data (JSON-serialisable), computed by
// plan() from a Lab with no I/O; render, providers and verify all read it.

import type { Lab, SwitchOs, Peering, PodNetworking } from '../lab/types.js';
import type { PlanTimers } from './timers.js';

export type Underlay = 'fabric' | 'lan';
export type { PodNetworking };
export type DeviceKind = 'spine' | 'leaf' | 'lan-switch' | 'node' | 'pod' | 'outside';

/** An address on an interface: `ip` plus prefix length, e.g. 172.16.0.1 and 31. */
export interface IfAddr { ip: string; prefixLen: number }

/** One end of a link. */
export interface LinkEnd { device: string; iface: string; addr?: IfAddr }

/** A point-to-point cable: spine-leaf (/31), leaf/lan-switch port to node eth0, node to pod veth. */
export interface Link {
  kind: 'fabric' | 'access' | 'pod';
  a: LinkEnd;
  b: LinkEnd;
}

export interface BgpNeighbor {
  ip: string;
  remoteAsn: number;
  /** Device on the other end (switch or node name). */
  peer: string;
  /** Local interface the session runs over. */
  iface: string;
  description: string;
}

/** Dynamic neighbours of a leaf: its rack nodes, accepted with `bgp listen range`. */
export interface BgpListen {
  peerGroup: string;       // e.g. RACK
  range: string;           // the rack CIDR
  /** A number (as-per-rack: the leaf's own AS, iBGP) or 'external' (as-per-node). */
  remoteAs: number | 'external';
  routeReflectorClient: boolean;
  nextHopSelf: boolean;
  /** How many nodes are expected to connect (verify counts them). */
  expectedPeers: number;
  /** What the leaf sends its nodes: every route, or only a default route (default-originate, nothing else). */
  routesToNodes: 'all' | 'default';
}

export interface SwitchBgp {
  asn: number;
  routerId: string;
  neighbors: BgpNeighbor[];
  listen?: BgpListen;
  /** Prefixes originated with `network` statements (rack, loopback). */
  networks: string[];
  /**
   * A leaf whose AS another leaf shares: how many times its own AS may appear in a path
   * learnt from the spines (FRR `allowas-in`), else it would drop the other racks' routes.
   */
  allowasIn?: number;
}

export interface SwitchPort {
  name: string;            // swp1..
  peer: string;            // device on the other end
  peerIface: string;
  addr?: IfAddr;           // fabric ports have a /31; access ports are bridged
}

export interface Switch {
  name: string;
  kind: 'spine' | 'leaf' | 'lan-switch';
  os: SwitchOs;
  /** /32 on lo (absent for the LAN switch). */
  loopback?: string;
  ports: SwitchPort[];
  /** Leaf rack bridge / LAN bridge: access ports bridged, gateway address on it. */
  bridge?: { name: string; addr: IfAddr; members: string[] };
  /** Absent for the LAN switch (plain L2 + gateway address, no routing protocol). */
  bgp?: SwitchBgp;
}

export interface Vtep { ip: string; mac: string; device: 'vxlan.calico'; vni: number; port: number; mtu: number }

export interface NodeBgp {
  asn: number;
  routerId: string;
  /** Sessions the node's BIRD opens (to its leaf, or to every other node in a mesh). */
  neighbors: BgpNeighbor[];
  /** Blocks the node exports (its own IPAM blocks). */
  exports: string[];
  /** Service cluster IP ranges the node advertises (BGP mode: BGPConfiguration.serviceClusterIPs). */
  serviceCidrs?: string[];
  /**
   * as-per-rack on leaves sharing one AS: the node's AS is in the paths of other racks'
   * routes, accepted this many times (BIRD `allow local as`, BGPPeer numAllowedLocalASNumbers).
   */
  allowLocalAs?: number;
}

/** A remote node's block as Felix/BIRD/static routing installs it on this node. */
export interface RemoteBlockRoute {
  block: string;
  node: string;
  nodeIp: string;
  /** VXLAN: remote VTEP (route via vtep ip dev vxlan.calico onlink + neigh + fdb). */
  vtep?: { ip: string; mac: string };
}

export interface KNode {
  name: string;
  role: 'control-plane' | 'worker';
  /** Leaf (fabric) or LAN switch name the node's eth0 is cabled to. */
  attachedTo: string;
  /** Leaf name on a fabric, for the `rack` label; absent on a LAN. */
  rack?: string;
  iface: 'eth0';
  addr: IfAddr;
  gateway: string;
  mac: string;
  /** Calico IPAM blocks affine to this node (one), or the bridge CNI node CIDR. */
  blocks: string[];
  /** Calico VXLAN: this node's VTEP. */
  vtep?: Vtep;
  /** Calico IPIP: tunl0 address (first of the block). */
  tunnelIp?: string;
  /** Calico BGP / IPIP: the node's BGP speaker (BIRD in the emulator). */
  bgp?: NodeBgp;
  /** Bridge CNI: bridge name and its gateway address (first host of the node CIDR). */
  bridge?: { name: string; addr: IfAddr };
  /** Kubernetes node labels (e.g. rack=leaf1). */
  labels: Record<string, string>;
}

export interface Pod {
  name: string;            // Deployment-style: <workload>-<hash10>-<hash5>
  namespace: string;
  workload: string;
  node: string;
  ip: string;
  mac: string;
  /** Host-side veth: cali + 11 hex (Calico) or veth + 8 hex (bridge). */
  hostIface: string;
  /** Pod's default gateway: 169.254.1.1 (Calico) or the node bridge address (bridge). */
  gateway: string;
  /** Kubernetes labels: `app: <workload>` plus the workload's labels from the lab file. */
  labels: Record<string, string>;
  /** TCP ports the pod serves (its responder answers on each with the pod's name). */
  ports: { name?: string; port: number; protocol: 'TCP' }[];
}

/**
 * The outside host (lab file `outside:`), on a routed port of its border switch (the
 * port is not among the switch's `ports`: the libvirt provider does not build it).
 */
export interface OutsideHost {
  name: string;
  /** The border switch: a leaf (fabric) or the LAN switch. */
  attachedTo: string;
  subnet: string;
  /** The border switch's port to the outside host, with the subnet's first host. */
  switchPort: { name: string; addr: IfAddr };
  iface: 'eth0';
  /** The subnet's second host. */
  addr: IfAddr;
  /** Its default route: the border switch. */
  gateway: string;
  /** TCP port its responder answers on (with the source address it saw). */
  port: number;
}

export interface PlanNamespace { name: string; labels: Record<string, string> }

export interface ServicePort { name?: string; protocol: 'TCP'; port: number; targetPort: number; nodePort?: number }

/** A Service per workload, as kube-proxy sees it: cluster IP, ports, ready endpoints. */
export interface Service {
  name: string;
  namespace: string;
  type: 'ClusterIP' | 'NodePort';
  clusterIP: string;
  selector: Record<string, string>;
  ports: ServicePort[];
  endpoints: { pod: string; ip: string; node: string }[];
}

export interface SessionIntent {
  speaker: string;         // device that holds the session
  peer: string;            // device on the other end
  peerIp: string;
  localAsn: number;
  remoteAsn: number;
  kind: 'ebgp' | 'ibgp';
  /** True when the speaker accepts it via `bgp listen range` (dynamic neighbour). */
  dynamic: boolean;
}

/** A neighbour a route must lead through: the device and the next-hop address on the way to it. */
export interface RouteVia { device: string; ip: string }

export interface RouteIntent {
  device: string;
  prefix: string;
  present: boolean;
  /** Number of next hops when present (ECMP over spines), if the mode fixes it. */
  nextHops?: number;
  /**
   * Through which neighbours, when the fabric fixes them: every one of them and no other
   * (a spine reaches a leaf's prefixes only via that leaf, a leaf another rack's via every
   * spine). Its length is nextHops.
   */
  via?: RouteVia[];
  why: string;
}

export interface PingIntent {
  from: string; to: string; fromIp: string; toIp: string; ttl: number;
  /** Set when the NetworkPolicies in force block ICMP between the pair: why (no reply expected). */
  blockedBy?: string;
}

export interface EncapIntent {
  kind: 'vxlan' | 'ipip' | 'none';
  vni?: number;
  port?: number;
  /** Where to capture (the sending node's eth0) and the pod pair to ping meanwhile. */
  node: string;
  iface: 'eth0';
  from: string;
  to: string;
  fromIp: string;
  toIp: string;
  /** Node addresses expected on the outer header (encapsulated modes). */
  outerSrc: string;
  outerDst: string;
}

export interface Intent {
  sessions: SessionIntent[];
  routes: RouteIntent[];
  podPairs: number;
  encapsulation?: EncapIntent;
}

/** How ASes are given to the switches (labs/README.md "Fabric designs"). */
export interface FabricDesign {
  /** The AS every spine shares (RFC 7938), or undefined when each spine has its own. */
  spineAsn?: number;
  /** ASes two leaves or more share (their leaves take allowas-in), in file order. */
  sharedLeafAsns: number[];
}

export interface Plan {
  name: string;
  description: string;
  file: string;
  underlay: Underlay;
  /** Fabric underlay only. */
  design?: FabricDesign;
  networking: PodNetworking;
  /** Calico peering model in bgp mode. */
  peering?: Peering;
  switches: Switch[];
  nodes: KNode[];
  pods: Pod[];
  /** Every namespace a workload uses or the lab file lists, with its labels. */
  namespaces: PlanNamespace[];
  services: Service[];
  links: Link[];
  /** The host beyond the cluster, when the lab declares one. */
  outside?: OutsideHost;
  /** Pool/cluster facts used by render. */
  cluster?: {
    version: string;
    podSubnet: string;
    serviceSubnet: string;
    blockSize?: number;
    natOutgoing: boolean;
    asNumber?: number;
    vxlan?: { vni: number; port: number };
    controlPlane: string;  // first control-plane node
  };
  /** BGP keepalive/hold of switches and nodes (plan/timers.ts). */
  bgpTimers: PlanTimers;
  intent: Intent;
  /** The validated lab the plan came from (render needs libvirt settings, workloads). */
  lab: Lab;
}
