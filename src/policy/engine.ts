// The policy engine: which connections the applied NetworkPolicies allow, computed from
// the Kubernetes semantics alone (like cyclonus), never from the dataplane. Pure.
//
// A pod is isolated for ingress (egress) when some policy of its namespace selects it
// and lists that type; an isolated pod accepts (sends) only what some rule of such a
// policy allows. Policies are additive: any allow wins, there are no deny rules. A
// connection needs both the source's egress and the destination's ingress.
import type { Cluster, Endpoint, IPBlock, LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, PolicyType, Traffic } from './types.js';
import { policyId } from './types.js';
import { ipToInt, parseCidr, size } from '../plan/ip.js';

export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]);
    if (e.operator === 'In' && !inValues) return false;
    if (e.operator === 'NotIn' && inValues) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

export const policyTypes = (p: NetworkPolicy): PolicyType[] =>
  p.spec.policyTypes ?? (p.spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);

/** Policies of the endpoint's namespace that select it for `type`. */
export function selecting(policies: NetworkPolicy[], ep: Endpoint, type: PolicyType): NetworkPolicy[] {
  if (!ep.namespace) return []; // a host outside the cluster: no policy applies to it
  return policies.filter((p) => p.metadata.namespace === ep.namespace && policyTypes(p).includes(type) && selectorMatches(p.spec.podSelector, ep.labels));
}

export function inCidr(ip: string, cidr: string): boolean {
  const c = parseCidr(cidr);
  const a = ipToInt(ip);
  return a >= c.base && a < c.base + size(c);
}

export const inIpBlock = (ip: string, b: IPBlock) => inCidr(ip, b.cidr) && !(b.except ?? []).some((e) => inCidr(ip, e));

/** Does `peer` (of a policy in namespace `ns`) match endpoint `ep`? */
export function peerMatches(peer: NetworkPolicyPeer, ns: string, ep: Endpoint, cluster: Cluster): boolean {
  if (peer.ipBlock) return inIpBlock(ep.ip, peer.ipBlock);
  if (!ep.namespace) return false; // pod/namespace selectors match pods only
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, cluster.namespaces.get(ep.namespace) ?? {})) return false;
  } else if (ep.namespace !== ns) return false;
  return peer.podSelector ? selectorMatches(peer.podSelector, ep.labels) : true;
}

/** Does a rule's port list admit the traffic to `dst` (named ports resolve on `dst`)? */
export function portsMatch(ports: NetworkPolicyPort[] | undefined, traffic: Traffic, dst: Endpoint): boolean {
  if (!ports || !ports.length) return true;
  if (traffic.protocol === 'ICMP') return false;
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== traffic.protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === 'string') return dst.ports.some((x) => x.name === p.port && x.protocol === traffic.protocol && x.port === traffic.port);
    return p.endPort !== undefined ? traffic.port >= p.port && traffic.port <= p.endPort : traffic.port === p.port;
  });
}

export interface DirectionVerdict {
  allowed: boolean;
  /** Policies that isolate the endpoint in this direction (empty: not isolated). */
  isolatedBy: string[];
  /** The first policy whose rule allows it, when isolated and allowed. */
  allowedBy?: string;
}

export interface Verdict { allowed: boolean; egress: DirectionVerdict; ingress: DirectionVerdict }

function direction(policies: NetworkPolicy[], self: Endpoint, other: Endpoint, type: PolicyType, traffic: Traffic, dst: Endpoint, cluster: Cluster): DirectionVerdict {
  const sel = selecting(policies, self, type);
  if (!sel.length) return { allowed: true, isolatedBy: [] };
  for (const p of sel) {
    const rules = type === 'Ingress'
      ? (p.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports }))
      : (p.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
    const ok = rules.some((r) => (!r.peers || !r.peers.length || r.peers.some((peer) => peerMatches(peer, p.metadata.namespace, other, cluster)))
      && portsMatch(r.ports, traffic, dst));
    if (ok) return { allowed: true, isolatedBy: sel.map(policyId), allowedBy: policyId(p) };
  }
  return { allowed: false, isolatedBy: sel.map(policyId) };
}

export function evaluate(policies: NetworkPolicy[], cluster: Cluster, from: Endpoint, to: Endpoint, traffic: Traffic): Verdict {
  const egress = direction(policies, from, to, 'Egress', traffic, to, cluster);
  const ingress = direction(policies, to, from, 'Ingress', traffic, to, cluster);
  return { allowed: egress.allowed && ingress.allowed, egress, ingress };
}

const describeTraffic = (t: Traffic) => (t.protocol === 'ICMP' ? 'ICMP' : `${t.protocol} ${t.port}`);

/** Why a blocked connection is blocked, in one sentence (undefined when allowed). */
export function why(v: Verdict, from: Endpoint, to: Endpoint, traffic: Traffic): string | undefined {
  if (v.allowed) return undefined;
  const parts: string[] = [];
  const show = (e: Endpoint) => (e.namespace ? `${e.namespace}/${e.name}` : e.name);
  if (!v.egress.allowed) parts.push(`egress of ${show(from)} is isolated by ${v.egress.isolatedBy.join(', ')} and no egress rule allows ${describeTraffic(traffic)} to ${show(to)}`);
  if (!v.ingress.allowed) parts.push(`ingress of ${show(to)} is isolated by ${v.ingress.isolatedBy.join(', ')} and no ingress rule allows ${describeTraffic(traffic)} from ${show(from)}`);
  return parts.join('; ');
}
