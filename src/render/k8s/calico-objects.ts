// Calico projectcalico.org/v3 resources as typed values, built from the plan (like cdk8s).
// Only the fields fabric-lab sets are typed; names and shapes follow the Calico v3 API
// (and the vendored CRDs in ./crds, which the tests validate every document against).
import type { KNode, Plan } from '../../plan/types.js';
import { IPIP_MTU } from '../../plan/cluster.js';

export const CALICO_API_VERSION = 'projectcalico.org/v3';

export interface ObjectMeta { name: string; labels?: Record<string, string> }

interface CalicoObject<K extends string, S> {
  apiVersion: typeof CALICO_API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
}

export type EncapMode = 'Always' | 'Never' | 'CrossSubnet';

export interface IPPoolSpec {
  cidr: string;
  blockSize: number;
  ipipMode: EncapMode;
  vxlanMode: EncapMode;
  natOutgoing: boolean;
  nodeSelector: string;
}
export type IPPool = CalicoObject<'IPPool', IPPoolSpec>;

export interface BGPConfigurationSpec {
  logSeverityScreen: 'Info';
  nodeToNodeMeshEnabled: boolean;
  asNumber: number;
  serviceClusterIPs?: { cidr: string }[];
}
export type BGPConfiguration = CalicoObject<'BGPConfiguration', BGPConfigurationSpec>;

export interface BGPPeerSpec { nodeSelector: string; peerIP: string; asNumber: number; numAllowedLocalASNumbers?: number }
export type BGPPeer = CalicoObject<'BGPPeer', BGPPeerSpec>;

export interface FelixConfigurationSpec {
  logSeverityScreen: 'Info';
  bpfEnabled: false;
  ipipEnabled: boolean;
  ipipMTU?: number;
  vxlanEnabled: boolean;
  vxlanVNI?: number;
  vxlanPort?: number;
  vxlanMTU?: number;
}
export type FelixConfiguration = CalicoObject<'FelixConfiguration', FelixConfigurationSpec>;

/** Calico Node (v3): not a CRD; see calico-node-schema.ts. */
export interface CalicoNodeSpec { bgp: { ipv4Address: string; asNumber?: number } }
export type CalicoNode = CalicoObject<'Node', CalicoNodeSpec>;

export type CalicoDocument = IPPool | BGPConfiguration | BGPPeer | FelixConfiguration | CalicoNode;

/** IPIP tunnel MTU: 1500 minus the 20-byte outer IPv4 header (Calico's default). */

type Cluster = NonNullable<Plan['cluster']>;
type CalicoMode = 'vxlan' | 'bgp' | 'ipip';

function meta(name: string, labels?: Record<string, string>): ObjectMeta {
  return labels && Object.keys(labels).length ? { name, labels: sortedRecord(labels) } : { name };
}

function sortedRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

export function ipPool(cluster: Cluster, mode: CalicoMode): IPPool {
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'IPPool',
    metadata: meta('default-ipv4-ippool'),
    spec: {
      cidr: cluster.podSubnet,
      blockSize: cluster.blockSize ?? 26,
      ipipMode: mode === 'ipip' ? 'Always' : 'Never',
      vxlanMode: mode === 'vxlan' ? 'Always' : 'Never',
      natOutgoing: cluster.natOutgoing,
      nodeSelector: 'all()',
    },
  };
}

/**
 * The cluster-wide BGP defaults. Mesh only in IPIP mode (seeds 000/002); in BGP mode
 * nodes peer with their leaf instead. In VXLAN mode BIRD does not run at all
 * (calico_backend: vxlan), so this document changes nothing on the wire; it is still
 * rendered, with the mesh off, so the intent is explicit and switching the backend to
 * bird by mistake cannot silently build a mesh the fabric does not expect.
 */
export function bgpConfiguration(cluster: Cluster, mode: CalicoMode): BGPConfiguration {
  return {
    apiVersion: CALICO_API_VERSION,
    kind: 'BGPConfiguration',
    metadata: meta('default'),
    spec: {
      logSeverityScreen: 'Info',
      nodeToNodeMeshEnabled: mode === 'ipip',
      asNumber: cluster.asNumber ?? 64512,
      // Seed 001's CALICO_ADVERTISE_CLUSTER_IPS: the nodes advertise the service range.
      ...(mode === 'bgp' ? { serviceClusterIPs: [{ cidr: cluster.serviceSubnet }] } : {}),
    },
  };
}

/**
 * One BGPPeer per rack that has nodes (Calico's "AS per rack" model): every node
 * labelled rack=<leaf> peers with its rack gateway in the leaf's AS. The same
 * documents serve as-per-node: only the nodes' own AS (Node spec.bgp.asNumber) differs,
 * which makes the sessions eBGP.
 */
export function bgpPeers(plan: Plan): BGPPeer[] {
  const racks = new Set(plan.nodes.map((n) => n.rack).filter((r): r is string => !!r));
  const allowLocalAs = new Set(plan.nodes.filter((n) => n.bgp?.allowLocalAs).map((n) => n.rack!));
  return plan.switches
    .filter((s) => s.kind === 'leaf' && racks.has(s.name))
    .map((leaf) => {
      if (!leaf.bridge || !leaf.bgp) throw new Error(`leaf ${leaf.name} has no rack gateway or BGP in the plan`);
      return {
        apiVersion: CALICO_API_VERSION,
        kind: 'BGPPeer',
        metadata: meta(`rack-${leaf.name}`),
        spec: {
          nodeSelector: `rack == '${leaf.name}'`, peerIP: leaf.bridge.addr.ip, asNumber: leaf.bgp.asn,
          // as-per-rack on leaves sharing one AS: the nodes (in that AS) accept other racks' routes.
          ...(allowLocalAs.has(leaf.name) ? { numAllowedLocalASNumbers: 1 } : {}),
        },
      };
    });
}

/** Felix: only the encapsulation the mode uses is enabled; VXLAN device per DESIGN 3.2. */
export function felixConfiguration(plan: Plan, cluster: Cluster, mode: CalicoMode): FelixConfiguration {
  const vxlan = mode === 'vxlan' ? cluster.vxlan : undefined;
  if (mode === 'vxlan' && !vxlan) throw new Error('VXLAN mode without VNI/port in the plan');
  const vxlanMtu = plan.nodes.find((n) => n.vtep)?.vtep?.mtu;
  const spec: FelixConfigurationSpec = {
    logSeverityScreen: 'Info',
    bpfEnabled: false,
    ipipEnabled: mode === 'ipip',
    ...(mode === 'ipip' ? { ipipMTU: IPIP_MTU } : {}),
    vxlanEnabled: mode === 'vxlan',
    ...(vxlan ? { vxlanVNI: vxlan.vni, vxlanPort: vxlan.port, ...(vxlanMtu ? { vxlanMTU: vxlanMtu } : {}) } : {}),
  };
  return { apiVersion: CALICO_API_VERSION, kind: 'FelixConfiguration', metadata: meta('default'), spec };
}

/**
 * The Calico Node of each Kubernetes node: its address (Felix uses it as the VXLAN/IPIP
 * endpoint and BIRD as its router address), its rack label for the BGPPeer selectors and,
 * in BGP mode, its AS (the leaf's in as-per-rack, its own in as-per-node).
 */
export function calicoNode(node: KNode, mode: CalicoMode): CalicoNode {
  const bgp: CalicoNodeSpec['bgp'] = { ipv4Address: `${node.addr.ip}/${node.addr.prefixLen}` };
  if (mode === 'bgp') {
    if (!node.bgp) throw new Error(`node ${node.name} has no BGP speaker in the plan`);
    bgp.asNumber = node.bgp.asn;
  }
  return { apiVersion: CALICO_API_VERSION, kind: 'Node', metadata: meta(node.name, node.labels), spec: { bgp } };
}
