// What must hold once the lab is up: sessions, routes, reachability, TTLs and what
// crosses the wire. Verify compares observations of the running lab with this.
import type { Lab, Peering, RoutesToNodes } from '../lab/types.js';
import type { Intent, KNode, Pod, PingIntent, Plan, RouteIntent, RouteVia, SessionIntent, Switch, EncapIntent, PodNetworking, FabricDesign } from './types.js';
import { fabricDesign } from './fabric.js';
import { remoteBlocks } from './cluster.js';

const TTL_START = 64;

export function planIntent(lab: Lab, networking: PodNetworking, switches: Switch[], nodes: KNode[], pods: Pod[]): Intent {
  return {
    sessions: sessions(switches, nodes),
    routes: routes(lab, networking, switches, nodes),
    podPairs: countPairs(pods),
    encapsulation: encapsulation(networking, nodes, pods),
  };
}

function sessions(switches: Switch[], nodes: KNode[]): SessionIntent[] {
  const out: SessionIntent[] = [];
  const push = (speaker: string, localAsn: number, peer: string, peerIp: string, remoteAsn: number, dynamic: boolean) =>
    out.push({ speaker, peer, peerIp, localAsn, remoteAsn, kind: localAsn === remoteAsn ? 'ibgp' : 'ebgp', dynamic });
  for (const sw of switches) for (const n of sw.bgp?.neighbors ?? []) push(sw.name, sw.bgp!.asn, n.peer, n.ip, n.remoteAsn, false);
  const byName = new Map(switches.map((s) => [s.name, s]));
  for (const node of nodes) {
    if (!node.bgp) continue;
    for (const n of node.bgp.neighbors) {
      push(node.name, node.bgp.asn, n.peer, n.ip, n.remoteAsn, false);
      // The leaf side of a node session: accepted through `bgp listen range`.
      const leaf = byName.get(n.peer);
      if (leaf?.bgp?.listen) push(leaf.name, leaf.bgp.asn, node.name, node.addr.ip, node.bgp.asn, true);
    }
  }
  return out;
}

/**
 * Through which neighbours a switch must reach a leaf's prefixes (valley-free routing):
 * a spine only via that leaf itself, a leaf via every spine. Anything else crosses a leaf
 * between two spines: a valley.
 */
export function fabricVia(sw: Switch, owner: Switch): RouteVia[] {
  const ns = sw.bgp!.neighbors.filter((n) => (sw.kind === 'spine' ? n.peer === owner.name : true));
  return ns.map((n) => ({ device: n.peer, ip: n.ip }));
}

function fabricWhy(sw: Switch, owner: Switch, what: string, design: FabricDesign | undefined): string {
  if (sw.kind === 'leaf') return `${what}, ECMP over ${sw.bgp!.neighbors.length} spines`;
  const valley = design?.spineAsn !== undefined
    ? `no valley can form: the spines share AS ${design.spineAsn}`
    : 'a path through another leaf would be a valley';
  return `${what}, directly from ${owner.name} (${valley})`;
}

function routes(lab: Lab, networking: PodNetworking, switches: Switch[], nodes: KNode[]): RouteIntent[] {
  const out: RouteIntent[] = [];
  const leaves = switches.filter((s) => s.kind === 'leaf');
  const leafByName = new Map(leaves.map((l) => [l.name, l]));
  const rackOf = new Map(lab.fabric?.leaves.map((l) => [l.name, l.rack]) ?? []);
  const design = lab.fabric ? fabricDesign(lab) : undefined;
  const fabric = (sw: Switch, owner: Switch, prefix: string, what: string): RouteIntent => {
    const via = fabricVia(sw, owner);
    return { device: sw.name, prefix, present: true, nextHops: via.length, via, why: fabricWhy(sw, owner, what, design) };
  };
  // Underlay: every leaf reaches every other rack and leaf loopback over all spines (ECMP),
  // every spine directly from the leaf.
  for (const sw of switches.filter((s) => s.bgp)) {
    for (const other of leaves.filter((l) => l !== sw)) {
      out.push(fabric(sw, other, rackOf.get(other.name)!, `rack of ${other.name}`));
      out.push(fabric(sw, other, `${other.loopback}/32`, `loopback of ${other.name}`));
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
        for (const block of node.blocks) {
          // The leaf learns its rack's blocks from the node itself (next hop its address).
          out.push(local
            ? { device: sw.name, prefix: block, present: true, nextHops: 1, via: [{ device: node.name, ip: node.addr.ip }], why: `pod block of ${node.name}, from the node` }
            : fabric(sw, leafByName.get(node.rack!)!, block, `pod block of ${node.name}`));
        }
      }
    }
  }
  const calico = lab.cni?.plugin === 'calico' ? lab.cni.calico : undefined;
  const defaultOnly = networking === 'bgp' && calico?.routesToNodes === 'default';
  const byName = new Map(nodes.map((n) => [n.name, n]));
  for (const node of nodes) {
    // The node's own leaf, by its rack gateway (the leaf's bridge address).
    const leaf = (): RouteVia[] => [{ device: node.rack ?? node.attachedTo, ip: node.gateway }];
    if (defaultOnly) {
      out.push({ device: node.name, prefix: '0.0.0.0/0', present: true, nextHops: 1, via: leaf(), why: `default route from ${node.rack} over BGP (routesToNodes: default)` });
    } else if (networking === 'vxlan' || networking === 'bridge' || networking === 'bgp' || networking === 'ipip') {
      for (const r of remoteBlocks(nodes, node)) {
        const how = { vxlan: 'Felix VXLAN route', bridge: 'static route', bgp: 'learnt over BGP', ipip: 'learnt over BGP, via tunl0' }[networking];
        out.push({ device: node.name, prefix: r.block, present: true, nextHops: 1, via: nodeRouteVia(networking, calico?.peering, node, byName.get(r.node)!, r.vtep?.ip, leaf), why: `pod block of ${r.node} (${how})` });
      }
    }
  }
  return out;
}

/**
 * Through whom a node reaches another node's pod block: what Felix, the static routes or
 * BGP put in its kernel table. VXLAN: the other node's VTEP (onlink); IPIP and static
 * routes: the other node's address. BGP, as-per-rack: a node of the same rack directly
 * (its leaf reflects the route with the node's own next hop), any other through the leaf
 * (next-hop-self on routes from the spines, DESIGN 3.3); as-per-node (eBGP): the leaf.
 */
function nodeRouteVia(networking: PodNetworking, peering: Peering | undefined, node: KNode, other: KNode, vtepIp: string | undefined, leaf: () => RouteVia[]): RouteVia[] {
  if (networking === 'vxlan') return [{ device: other.name, ip: vtepIp! }];
  if (networking !== 'bgp') return [{ device: other.name, ip: other.addr.ip }];
  return peering !== 'as-per-node' && other.rack === node.rack ? [{ device: other.name, ip: other.addr.ip }] : leaf();
}

/** The reply's TTL: 64 less every router on the way back from the remote pod. */
function replyTtl(networking: PodNetworking, bgp: BgpShape, from: KNode, to: KNode): number {
  // Both nodes route (the remote one forwards the reply out, ours forwards it in): 2.
  // BGP mode across racks adds leaf, spine, leaf: 5. In the same rack, as-per-rack
  // reflects the node's own next hop (direct, 2), while as-per-node's eBGP routes come
  // with the leaf as next hop (3), as does a leaf that sends its nodes only a default
  // route. Encapsulated traffic and L2 hide the fabric.
  if (networking !== 'bgp' || from.rack === undefined) return TTL_START - 2;
  if (from.rack !== to.rack) return TTL_START - 5;
  return TTL_START - (bgp.peering === 'as-per-node' || bgp.routesToNodes === 'default' ? 3 : 2);
}

interface BgpShape { peering?: Peering; routesToNodes?: RoutesToNodes }

type PingFn = (a: Pod, b: Pod) => PingIntent;

/** The ping intent of any pod pair (verify's sampler builds the pairs it probes with it). */
export const pingIntentOf = (plan: Pick<Plan, 'lab' | 'networking' | 'nodes'>): PingFn => pingFn(plan.lab, plan.networking, plan.nodes);

function pingFn(lab: Lab, networking: PodNetworking, nodes: KNode[]): PingFn {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const calico = lab.cni?.plugin === 'calico' ? lab.cni.calico : undefined;
  const bgp: BgpShape = { peering: calico?.peering, routesToNodes: calico?.routesToNodes };
  return (a, b) => ({ from: a.name, to: b.name, fromIp: a.ip, toIp: b.ip, ttl: replyTtl(networking, bgp, byName.get(a.node)!, byName.get(b.node)!) });
}

/** Every pod pair on different nodes, one at a time (P^2 of them: for `verify --full`). */
export function* allPings(plan: Pick<Plan, 'lab' | 'networking' | 'nodes' | 'pods'>): Generator<PingIntent> {
  const ping = pingFn(plan.lab, plan.networking, plan.nodes);
  for (const a of plan.pods) for (const b of plan.pods) if (b.node !== a.node) yield ping(a, b);
}

/** Pod pairs on different nodes, counted without listing them. */
function countPairs(pods: Pod[]): number {
  const perNode = new Map<string, number>();
  for (const p of pods) perNode.set(p.node, (perNode.get(p.node) ?? 0) + 1);
  let same = 0;
  for (const k of perNode.values()) same += k * k;
  return pods.length * pods.length - same;
}

function encapsulation(networking: PodNetworking, nodes: KNode[], pods: Pod[]): EncapIntent | undefined {
  if (networking === 'none' || pods.length < 2) return undefined;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const node = (name: string) => byName.get(name)!;
  // Prefer a pair across racks: the interesting path in a fabric.
  const [a] = pods;
  const b = pods.find((p) => node(p.node).rack !== node(a.node).rack) ?? pods.find((p) => p.node !== a.node);
  if (!b) return undefined;
  const from = node(a.node);
  const to = node(b.node);
  const kind = networking === 'vxlan' ? 'vxlan' : networking === 'ipip' ? 'ipip' : 'none';
  return {
    kind, ...(from.vtep ? { vni: from.vtep.vni, port: from.vtep.port } : {}),
    node: from.name, iface: 'eth0', from: a.name, to: b.name, fromIp: a.ip, toIp: b.ip,
    outerSrc: from.addr.ip, outerDst: to.addr.ip,
  };
}

/**
 * BGP sessions counted as people count them: once per pair of speakers. The intent lists
 * each session from both ends (verify checks both), so a pair appears twice.
 */
export function sessionPairs(sessions: SessionIntent[]): SessionIntent[] {
  const seen = new Set<string>();
  return sessions.filter((s) => {
    const key = [s.speaker, s.peer].sort().join('\0');
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** How many route checks verify makes, and how many of them are routes that must be present. */
export function routeCounts(routes: RouteIntent[]): { checks: number; present: number; absent: number } {
  const present = routes.filter((r) => r.present).length;
  return { checks: routes.length, present, absent: routes.length - present };
}
