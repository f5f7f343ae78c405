// The cluster on the underlay: node addresses, IPAM (Calico blocks or bridge-CNI node
// CIDRs), each node's dataplane (VTEP, tunnel, BGP speaker, bridge) and the pods.
import type { Lab, CalicoSettings, BridgeSettings } from '../lab/types.js';
import type { KNode, Pod, Link, NodeBgp, RemoteBlockRoute } from './types.js';
// as-per-node: node i gets private AS NODE_ASN_BASE + i + 1 (RFC 6996), checked free by the loader.
import { NODE_ASN_BASE } from '../lab/checks.js';
import type { Attachment } from './fabric.js';
import { LAN_SWITCH, fabricDesign, neighbor } from './fabric.js';
import { firstAutoHostOffset } from '../lab/ipv4.js';
import { intToIp, ipToInt, nthAddress, nthSubnet, parseCidr, size } from './ip.js';
import { caliIface, hashedMac, ipMac, podName, vethIface } from './naming.js';

export const CALICO_POD_GATEWAY = '169.254.1.1';
export const VXLAN_MTU = 1450;
/** Calico's IPIP MTU on a 1500-byte network (20 bytes of outer IPv4 header): tunl0 and the pod veths. */
export const IPIP_MTU = 1480;

/** Node addresses: explicit, else the next free host from .101 of the rack (or LAN). */
export function placeNodes(lab: Lab): Attachment[] {
  const k8s = lab.kubernetes;
  if (!k8s) return [];
  const used = new Set(k8s.nodes.filter((n) => n.ip).map((n) => ipToInt(n.ip!)));
  const next = new Map<string, number>();
  return k8s.nodes.map((n) => {
    const subnet = lab.fabric ? lab.fabric.leaves.find((l) => l.name === n.leaf)!.rack : lab.lan!.subnet;
    const switchName = lab.fabric ? n.leaf! : LAN_SWITCH;
    const c = parseCidr(subnet);
    let ip = n.ip;
    if (!ip) {
      const gateway = lab.lan ? ipToInt(lab.lan.gateway) : c.base + 1;
      let cand = next.get(subnet) ?? c.base + firstAutoHostOffset(c);
      while (used.has(cand) || cand === gateway) cand++;
      if (cand >= c.base + size(c) - 1) throw new Error(`no free address left in ${subnet} for ${n.name}`);
      used.add(cand);
      next.set(subnet, cand + 1);
      ip = intToIp(cand);
    }
    return { node: n.name, switchName, ip, prefixLen: c.prefixLen };
  });
}

export function planNodes(lab: Lab, attachments: Attachment[], leafAsn: Map<string, number>): KNode[] {
  const k8s = lab.kubernetes;
  if (!k8s || !lab.cni) return [];
  const calico = lab.cni.plugin === 'calico' ? lab.cni.calico : undefined;
  const bridge = lab.cni.plugin === 'bridge' ? lab.cni.bridge : undefined;
  const nodes: KNode[] = k8s.nodes.map((n, i) => {
    const at = attachments[i];
    const gateway = lab.lan ? lab.lan.gateway : nthAddress(lab.fabric!.leaves.find((l) => l.name === n.leaf)!.rack, 1);
    const block = calico
      ? nthSubnet(k8s.podSubnet, calico.blockSize, i)
      : nthSubnet(k8s.podSubnet, bridge!.nodeCidrBits, i);
    const node: KNode = {
      name: n.name, role: n.role, attachedTo: at.switchName, iface: 'eth0',
      addr: { ip: at.ip, prefixLen: at.prefixLen }, gateway, mac: hashedMac(0x52, `${lab.name}/${n.name}/eth0`),
      blocks: [block], labels: {},
    };
    if (lab.fabric) { node.rack = n.leaf; node.labels.rack = n.leaf!; }
    if (calico?.mode === 'vxlan') {
      node.vtep = { ip: nthAddress(block, 0), mac: hashedMac(0x66, `${lab.name}/${n.name}/vtep`), device: 'vxlan.calico', vni: calico.vxlanVNI, port: calico.vxlanPort, mtu: VXLAN_MTU };
    }
    if (calico?.mode === 'ipip') node.tunnelIp = nthAddress(block, 0);
    if (bridge) node.bridge = { name: bridge.bridge, addr: { ip: nthAddress(block, 1), prefixLen: bridge.nodeCidrBits } };
    return node;
  });
  if (calico) {
    const sharedLeafAsns = new Set(lab.fabric ? fabricDesign(lab).sharedLeafAsns : []);
    nodes.forEach((node, i) => { node.bgp = nodeBgp(calico, node, nodes, i, leafAsn, sharedLeafAsns, [k8s.serviceSubnet]); });
  }
  return nodes;
}

/**
 * The other nodes' blocks as this node routes them: Felix routes (vxlan, ipip), static
 * routes (bridge), BGP routes (bgp with every route sent to the nodes). Computed when
 * asked, so the plan itself holds O(N) entries, not one per pair of nodes.
 */
export function remoteBlocks(nodes: KNode[], node: KNode): RemoteBlockRoute[] {
  return nodes.filter((o) => o !== node).map((o) => ({
    block: o.blocks[0], node: o.name, nodeIp: o.addr.ip, ...(o.vtep ? { vtep: { ip: o.vtep.ip, mac: o.vtep.mac } } : {}),
  }));
}

function nodeBgp(calico: CalicoSettings, node: KNode, nodes: KNode[], i: number, leafAsn: Map<string, number>, sharedLeafAsns: Set<number>, serviceCidrs?: string[]): NodeBgp | undefined {
  if (calico.mode === 'bgp') {
    const leaf = leafAsn.get(node.rack!)!;
    const asPerRack = calico.peering === 'as-per-rack';
    const asn = asPerRack ? leaf : NODE_ASN_BASE + i + 1;
    // Leaves sharing one AS: the other racks' routes carry the node's own AS (that of its leaf).
    const sharedAs = asPerRack && sharedLeafAsns.has(leaf);
    // As Calico with serviceClusterIPs: every node advertises the service range to its leaf.
    return {
      asn, routerId: node.addr.ip, neighbors: [neighbor(node.gateway, leaf, node.rack!, 'eth0')], exports: node.blocks, serviceCidrs: serviceCidrs ?? [],
      ...(sharedAs ? { allowLocalAs: 1 } : {}),
    };
  }
  if (calico.mode === 'ipip') {
    const peers = nodes.filter((o) => o !== node).map((o) => neighbor(o.addr.ip, calico.asNumber, o.name, 'eth0'));
    return { asn: calico.asNumber, routerId: node.addr.ip, neighbors: peers, exports: node.blocks };
  }
  return undefined; // vxlan: calico_backend vxlan, BGP off on nodes
}

/**
 * Pods of every workload, spread over distinct workers first, then over the other
 * distinct nodes (as seed 003's untainted control plane), then round again: fewest pods
 * of this workload, then workers before control plane, then fewest pods overall,
 * then file order.
 */
export function planPods(lab: Lab, nodes: KNode[]): { pods: Pod[]; links: Link[] } {
  const cp = (n: KNode) => (n.role === 'control-plane' ? 1 : 0);
  const total = new Map<string, number>(nodes.map((n) => [n.name, 0]));
  const calico = lab.cni?.plugin === 'calico';
  const mode = lab.cni?.plugin === 'calico' ? lab.cni.calico.mode : undefined;
  // Calico IPAM hands out ordinals in order; the tunnel address (VXLAN/IPIP) takes ordinal 0.
  const firstOrdinal = calico ? (mode === 'bgp' ? 0 : 1) : 2;
  const nextOrdinal = new Map<string, number>(nodes.map((n) => [n.name, firstOrdinal]));
  const pods: Pod[] = [];
  const links: Link[] = [];
  for (const w of lab.workloads) {
    const mine = new Map<string, number>(nodes.map((n) => [n.name, 0]));
    const better = (a: KNode, b: KNode) => mine.get(a.name)! - mine.get(b.name)! || cp(a) - cp(b) || total.get(a.name)! - total.get(b.name)!;
    for (let r = 0; r < w.replicas; r++) {
      // The first node in file order among the best (a linear scan: O(nodes) per pod).
      const node = nodes.reduce((best, n) => (better(n, best) < 0 ? n : best));
      mine.set(node.name, mine.get(node.name)! + 1);
      total.set(node.name, total.get(node.name)! + 1);
      const ordinal = nextOrdinal.get(node.name)!;
      nextOrdinal.set(node.name, ordinal + 1);
      // A bridge subnet keeps its broadcast address; a Calico block is all /32s.
      if (ordinal >= size(parseCidr(node.blocks[0])) - (calico ? 0 : 1)) throw new Error(`${node.name}: ${node.blocks[0]} has no room for pod ${r + 1} of ${w.name}`);
      const ip = nthAddress(node.blocks[0], ordinal);
      const name = podName(lab.name, w.name, r);
      const pod: Pod = {
        name, namespace: w.namespace, workload: w.name, node: node.name, ip, mac: ipMac(ip),
        hostIface: calico ? caliIface(w.namespace, name) : vethIface(w.namespace, name),
        gateway: calico ? CALICO_POD_GATEWAY : node.bridge!.addr.ip,
        labels: { ...w.labels, app: w.name },
        ports: w.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: 'TCP' as const })),
      };
      pods.push(pod);
      links.push({
        kind: 'pod', a: { device: node.name, iface: pod.hostIface },
        b: { device: name, iface: 'eth0', addr: { ip, prefixLen: calico ? 32 : (lab.cni as { bridge: BridgeSettings }).bridge.nodeCidrBits } },
      });
    }
  }
  return { pods, links };
}
