// What must hold once the lab is up: sessions, routes, reachability, TTLs and what
// crosses the wire. Verify compares observations of the running lab with this.
import type { Lab, Peering } from '../lab/types.js';
import type { Intent, KNode, Pod, RouteIntent, SessionIntent, Switch, EncapIntent, PodNetworking } from './types.js';

const TTL_START = 64;

export function planIntent(lab: Lab, networking: PodNetworking, switches: Switch[], nodes: KNode[], pods: Pod[]): Intent {
  return {
    sessions: sessions(switches, nodes),
    routes: routes(lab, networking, switches, nodes),
    pings: pings(networking, lab.cni?.plugin === 'calico' ? lab.cni.calico.peering : undefined, nodes, pods),
    encapsulation: encapsulation(networking, nodes, pods),
  };
}

function sessions(switches: Switch[], nodes: KNode[]): SessionIntent[] {
  const out: SessionIntent[] = [];
  const push = (speaker: string, localAsn: number, peer: string, peerIp: string, remoteAsn: number, dynamic: boolean) =>
    out.push({ speaker, peer, peerIp, localAsn, remoteAsn, kind: localAsn === remoteAsn ? 'ibgp' : 'ebgp', dynamic });
  for (const sw of switches) for (const n of sw.bgp?.neighbors ?? []) push(sw.name, sw.bgp!.asn, n.peer, n.ip, n.remoteAsn, false);
  for (const node of nodes) {
    if (!node.bgp) continue;
    for (const n of node.bgp.neighbors) {
      push(node.name, node.bgp.asn, n.peer, n.ip, n.remoteAsn, false);
      // The leaf side of a node session: accepted through `bgp listen range`.
      const leaf = switches.find((s) => s.name === n.peer);
      if (leaf?.bgp?.listen) push(leaf.name, leaf.bgp.asn, node.name, node.addr.ip, node.bgp.asn, true);
    }
  }
  return out;
}

function routes(lab: Lab, networking: PodNetworking, switches: Switch[], nodes: KNode[]): RouteIntent[] {
  const out: RouteIntent[] = [];
  const spines = switches.filter((s) => s.kind === 'spine').length;
  const leaves = switches.filter((s) => s.kind === 'leaf');
  // Underlay: every leaf reaches every other rack and leaf loopback over all spines (ECMP).
  for (const sw of switches.filter((s) => s.bgp)) {
    for (const other of leaves.filter((l) => l !== sw)) {
      const n = sw.kind === 'leaf' ? spines : 1;
      const why = sw.kind === 'leaf' ? `rack of ${other.name}, ECMP over ${spines} spines` : `rack of ${other.name}`;
      out.push({ device: sw.name, prefix: lab.fabric!.leaves.find((l) => l.name === other.name)!.rack, present: true, nextHops: n, why });
      out.push({ device: sw.name, prefix: `${other.loopback}/32`, present: true, nextHops: n, why: `loopback of ${other.name}` });
    }
  }
  const podSubnet = lab.kubernetes?.podSubnet;
  if (networking === 'vxlan' || networking === 'bridge' || networking === 'ipip') {
    // Overlay or static routes: the fabric carries only node addresses.
    for (const sw of switches.filter((s) => s.bgp)) {
      out.push({ device: sw.name, prefix: podSubnet!, present: false, why: 'the fabric knows only node addresses: no route inside the pod subnet' });
    }
  }
  if (networking === 'bgp') {
    for (const sw of switches.filter((s) => s.bgp)) {
      for (const node of nodes) {
        const local = sw.kind === 'leaf' && node.rack === sw.name;
        const n = sw.kind === 'spine' || local ? 1 : spines;
        for (const block of node.blocks) {
          out.push({ device: sw.name, prefix: block, present: true, nextHops: n, why: `pod block of ${node.name}${sw.kind === 'leaf' && !local ? `, ECMP over ${spines} spines` : ''}` });
        }
      }
    }
  }
  for (const node of nodes) {
    if (networking === 'vxlan' || networking === 'bridge' || networking === 'bgp' || networking === 'ipip') {
      for (const r of node.remoteBlocks) {
        const how = { vxlan: 'Felix VXLAN route', bridge: 'static route', bgp: 'learnt over BGP', ipip: 'learnt over BGP, via tunl0' }[networking];
        out.push({ device: node.name, prefix: r.block, present: true, nextHops: 1, why: `pod block of ${r.node} (${how})` });
      }
    }
  }
  return out;
}

/** The reply's TTL: 64 less every router on the way back from the remote pod. */
function replyTtl(networking: PodNetworking, peering: Peering | undefined, from: KNode, to: KNode): number {
  // Both nodes route (the remote one forwards the reply out, ours forwards it in): 2.
  // BGP mode across racks adds leaf, spine, leaf: 5. In the same rack, as-per-rack
  // reflects the node's own next hop (direct, 2), while as-per-node's eBGP routes come
  // with the leaf as next hop (3). Encapsulated traffic and L2 hide the fabric.
  if (networking !== 'bgp' || from.rack === undefined) return TTL_START - 2;
  if (from.rack !== to.rack) return TTL_START - 5;
  return TTL_START - (peering === 'as-per-node' ? 3 : 2);
}

function pings(networking: PodNetworking, peering: Peering | undefined, nodes: KNode[], pods: Pod[]) {
  const node = (name: string) => nodes.find((n) => n.name === name)!;
  return pods.flatMap((a) => pods.filter((b) => b.node !== a.node).map((b) => ({
    from: a.name, to: b.name, fromIp: a.ip, toIp: b.ip, ttl: replyTtl(networking, peering, node(a.node), node(b.node)),
  })));
}

function encapsulation(networking: PodNetworking, nodes: KNode[], pods: Pod[]): EncapIntent | undefined {
  if (networking === 'none' || pods.length < 2) return undefined;
  const node = (name: string) => nodes.find((n) => n.name === name)!;
  const pairs = pods.flatMap((a) => pods.filter((b) => b.node !== a.node).map((b) => [a, b] as const));
  if (!pairs.length) return undefined;
  // Prefer a pair across racks: the interesting path in a fabric.
  const [a, b] = pairs.find(([x, y]) => node(x.node).rack !== node(y.node).rack) ?? pairs[0];
  const from = node(a.node);
  const to = node(b.node);
  const kind = networking === 'vxlan' ? 'vxlan' : networking === 'ipip' ? 'ipip' : 'none';
  return {
    kind, ...(from.vtep ? { vni: from.vtep.vni, port: from.vtep.port } : {}),
    node: from.name, iface: 'eth0', from: a.name, to: b.name, fromIp: a.ip, toIp: b.ip,
    outerSrc: from.addr.ip, outerDst: to.addr.ip,
  };
}
