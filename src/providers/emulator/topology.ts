// Pure: plan -> the iproute2 / bridge / sysctl commands that build the lab, grouped by
// namespace so each namespace is configured by one batch per phase. Felix's VXLAN
// dataplane (DESIGN 3.2) and the bridge CNI (3.5) are reproduced command for command.
import type { DeviceKind, KNode, Plan, Pod } from '../../plan/types.js';
import { namespaceOf } from './names.js';
import { IPIP_MTU, remoteBlocks } from '../../plan/cluster.js';

/** Calico's host-side veth MAC (every cali* interface). */
export const CALICO_HOST_MAC = 'ee:ee:ee:ee:ee:ee';
/** Felix's route protocol number (`proto 80`). */
const FELIX_PROTO = '80';

export interface NsConfig {
  device: string;
  kind: DeviceKind;
  ns: string;
  /** `sysctl -w` settings, applied once the cables exist and before any port is up. */
  sysctls: string[];
  /** Underlay: lo, ports, bridges, addresses, default route (before the daemons start). */
  links: string[];
  /** CNI / Felix: pod interfaces, VXLAN, routes, neighbours, node bridge (a node's in the
   *  same batch as its links; a pod's while the daemons start). */
  dataplane: string[];
  /** `bridge fdb` lines (VXLAN). */
  fdb: string[];
}

export interface Topology {
  namespaces: string[];
  /** Host-namespace batch: `netns add` for every namespace. */
  netns: string[];
  /** Host-namespace batch: every veth pair, both ends created in their namespaces. */
  cables: string[];
  configs: NsConfig[];
}

const withPrefix = (addr: string, len: number) => (addr.includes('/') ? addr : `${addr}/${len}`);

export function buildTopology(plan: Plan): Topology {
  const ns = (device: string) => namespaceOf(plan.name, device);
  const nodeByName = new Map(plan.nodes.map((n) => [n.name, n]));
  const configs = new Map<string, NsConfig>();
  const add = (device: string, kind: DeviceKind): NsConfig => {
    const c: NsConfig = { device, kind, ns: ns(device), sysctls: [], links: [], dataplane: [], fdb: [] };
    configs.set(device, c);
    return c;
  };
  // The lab is IPv4-only: no router solicitations or MLD reports in captures of the
  // fabric and node uplinks. Pods keep the kernel defaults (one process fewer each).
  const noIpv6 = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];

  for (const sw of plan.switches) {
    const c = add(sw.name, sw.kind);
    c.sysctls.push(...noIpv6, 'net.ipv4.ip_forward=1');
    c.links.push('link set lo up');
    if (sw.loopback) c.links.push(`addr add ${withPrefix(sw.loopback, 32)} dev lo`);
    for (const p of sw.ports) {
      c.links.push(`link set ${p.name} up`);
      if (p.addr) c.links.push(`addr add ${p.addr.ip}/${p.addr.prefixLen} dev ${p.name}`);
    }
    if (sw.bridge) {
      const br = sw.bridge;
      c.links.push(`link add name ${br.name} type bridge`, `link set ${br.name} up`);
      for (const m of br.members) c.links.push(`link set ${m} master ${br.name}`);
      c.links.push(`addr add ${br.addr.ip}/${br.addr.prefixLen} dev ${br.name}`);
    }
  }

  const calico = plan.networking === 'vxlan' || plan.networking === 'bgp' || plan.networking === 'ipip';
  const podsByNode = new Map<string, Pod[]>();
  for (const p of plan.pods) {
    if (!podsByNode.has(p.node)) podsByNode.set(p.node, []);
    podsByNode.get(p.node)!.push(p);
  }
  const podsOf = (node: string) => podsByNode.get(node) ?? [];
  const calicoSettings = plan.lab.cni?.plugin === 'calico' ? plan.lab.cni.calico : undefined;
  const defaultOverBgp = plan.networking === 'bgp' && calicoSettings?.routesToNodes === 'default';
  for (const node of plan.nodes) {
    const c = add(node.name, 'node');
    c.sysctls.push(...noIpv6, 'net.ipv4.ip_forward=1');
    c.links.push('link set lo up', 'link set eth0 up', `addr add ${node.addr.ip}/${node.addr.prefixLen} dev eth0`);
    // A leaf that sends its nodes only a default route: BIRD installs it, nothing else does.
    if (!defaultOverBgp) c.links.push(`route add default via ${node.gateway} dev eth0`);
    nodeDataplane(plan, node, podsOf(node.name), c, calico);
  }

  for (const pod of plan.pods) {
    const c = add(pod.name, 'pod');
    const node = nodeByName.get(pod.node);
    const prefix = calico || !node?.bridge ? 32 : node.bridge.addr.prefixLen;
    c.dataplane.push('link set lo up', 'link set eth0 up', `addr add ${pod.ip}/${prefix} dev eth0`);
    // Calico: the gateway 169.254.1.1 exists nowhere; the host veth answers by proxy ARP.
    if (calico) c.dataplane.push(`route add ${pod.gateway} dev eth0 scope link`);
    c.dataplane.push(`route add default via ${pod.gateway} dev eth0`);
  }

  const o = plan.outside;
  if (o) {
    // Its own namespace, a routed port of the border switch, a default route via it:
    // nothing here touches the host's own network.
    const c = add(o.name, 'outside');
    c.sysctls.push(...noIpv6);
    c.links.push('link set lo up', `link set ${o.iface} up`, `addr add ${o.addr.ip}/${o.addr.prefixLen} dev ${o.iface}`, `route add default via ${o.gateway} dev ${o.iface}`);
    configs.get(o.attachedTo)!.links.push(`link set ${o.switchPort.name} up`, `addr add ${o.switchPort.addr.ip}/${o.switchPort.addr.prefixLen} dev ${o.switchPort.name}`);
  }

  const netns = [...configs.values()].map((c) => `netns add ${c.ns}`);
  const cables: string[] = [];
  for (const link of plan.links) {
    if (link.kind === 'pod') continue; // pods are cabled from plan.pods below
    cables.push(vethLine(ns(link.a.device), link.a.iface, macOf(nodeByName, link.a.device, link.a.iface),
      ns(link.b.device), link.b.iface, macOf(nodeByName, link.b.device, link.b.iface)));
  }
  if (o) cables.push(vethLine(ns(o.attachedTo), o.switchPort.name, undefined, ns(o.name), o.iface, undefined));
  for (const pod of plan.pods) {
    // Calico sizes the pod's interface for the encapsulation overhead.
    const mtu = plan.networking === 'vxlan' ? nodeByName.get(pod.node)?.vtep?.mtu
      : plan.networking === 'ipip' ? IPIP_MTU : undefined;
    cables.push(vethLine(ns(pod.node), pod.hostIface, calico ? CALICO_HOST_MAC : undefined, ns(pod.name), 'eth0', pod.mac, mtu));
  }
  return { namespaces: [...configs.values()].map((c) => c.ns), netns, cables, configs: [...configs.values()] };
}

function nodeDataplane(plan: Plan, node: KNode, pods: Pod[], c: NsConfig, calico: boolean): void {
  if (calico) {
    for (const pod of pods) {
      c.sysctls.push(`net.ipv4.conf.${pod.hostIface}.proxy_arp=1`, `net.ipv4.neigh.${pod.hostIface}.proxy_delay=0`);
      c.dataplane.push(`link set ${pod.hostIface} up`, `route add ${pod.ip}/32 dev ${pod.hostIface} scope link`);
    }
  }
  if (plan.networking === 'vxlan' && node.vtep) {
    const v = node.vtep;
    c.dataplane.push(
      `link add name ${v.device} address ${v.mac} mtu ${v.mtu} type vxlan id ${v.vni} local ${node.addr.ip} dev eth0 dstport ${v.port} nolearning`,
      `addr add ${v.ip}/32 dev ${v.device}`,
      `link set ${v.device} up`,
    );
    for (const b of node.blocks) c.dataplane.push(`route add blackhole ${b} proto ${FELIX_PROTO}`);
    for (const r of remoteBlocks(plan.nodes, node)) {
      if (!r.vtep) continue;
      c.dataplane.push(
        `neigh add ${r.vtep.ip} lladdr ${r.vtep.mac} dev ${v.device} nud permanent`,
        `route add ${r.block} via ${r.vtep.ip} dev ${v.device} onlink proto ${FELIX_PROTO}`,
      );
      c.fdb.push(`fdb add ${r.vtep.mac} dev ${v.device} dst ${r.nodeIp} self permanent`);
    }
  }
  if (plan.networking === 'ipip' && node.tunnelIp) {
    // tunl0 is the ipip module's fallback device, present in every namespace: Felix
    // sets its MTU and address; a route's gateway is the outer destination (onlink).
    // Felix-programmed IPIP routes; BIRD only runs the mesh sessions (kernel export off).
    c.dataplane.push(`link set tunl0 mtu ${IPIP_MTU} up`, `addr add ${node.tunnelIp}/32 dev tunl0`);
    for (const b of node.blocks) c.dataplane.push(`route add blackhole ${b} proto ${FELIX_PROTO}`);
    for (const r of remoteBlocks(plan.nodes, node)) c.dataplane.push(`route add ${r.block} via ${r.nodeIp} dev tunl0 onlink proto ${FELIX_PROTO}`);
  }
  if (plan.networking === 'bridge' && node.bridge) {
    const br = node.bridge;
    c.dataplane.push(`link add name ${br.name} type bridge`, `addr add ${br.addr.ip}/${br.addr.prefixLen} dev ${br.name}`, `link set ${br.name} up`);
    // Hairpin, as the CNI config's hairpinMode (render/k8s/cni-objects.ts): a pod reaches
    // itself through its own Service.
    for (const pod of pods) c.dataplane.push(`link set ${pod.hostIface} master ${br.name}`, `link set ${pod.hostIface} type bridge_slave hairpin on`, `link set ${pod.hostIface} up`);
    for (const r of remoteBlocks(plan.nodes, node)) c.dataplane.push(`route add ${r.block} via ${r.nodeIp} dev eth0`);
  }
}

function vethLine(nsA: string, ifA: string, macA: string | undefined, nsB: string, ifB: string, macB: string | undefined, mtu?: number): string {
  const opts = (mac: string | undefined) => [mac ? ` address ${mac}` : '', mtu ? ` mtu ${mtu}` : ''].join('');
  return `link add name ${ifA} netns ${nsA}${opts(macA)} type veth peer name ${ifB} netns ${nsB}${opts(macB)}`;
}

function macOf(nodeByName: Map<string, KNode>, device: string, iface: string): string | undefined {
  const node = nodeByName.get(device);
  return node && iface === node.iface ? node.mac : undefined;
}
