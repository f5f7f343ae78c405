// NetworkPolicy as Felix programs it (iptables, nft backend): per-endpoint chains on the
// pod's host-side interface (cali-tw-<iface> for traffic to the workload, cali-fw-<iface>
// for traffic from it), reached from cali-FORWARD through the dispatch chains; one chain
// per policy and direction (cali-pi-/cali-po-<hash>) whose rules set the accept mark
// 0x10000; an isolated endpoint whose policies set no mark is dropped ("Drop if no
// policies passed packet"). Selectors are expanded to the pods' /32s here, where Felix
// keeps them in ipsets. Pure: plan + policies -> iptables-restore lines for one node.
import { createHash } from 'node:crypto';
import type { Plan, Pod } from '../plan/types.js';
import type { Cluster, Endpoint, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, PolicyType } from './types.js';
import { policyId } from './types.js';
import { inIpBlock, peerMatches, selecting } from './engine.js';

export const ACCEPT_MARK = '0x10000/0x10000';
const MARK_ACCEPT = `-j MARK --set-xmark ${ACCEPT_MARK}`;
const RETURN_IF_ACCEPTED = `-m mark --mark ${ACCEPT_MARK} -j RETURN`;

const hash = (s: string, n: number) => createHash('sha256').update(s).digest('base64url').replace(/[-_]/g, 'x').slice(0, n);
export const policyChain = (p: NetworkPolicy, type: PolicyType) => `cali-${type === 'Ingress' ? 'pi' : 'po'}-_${hash(policyId(p), 16)}`;
const comment = (s: string) => `-m comment --comment "${s.replace(/"/g, "'")}"`;

/** The engine's view of the lab: every pod with its labels and ports, every namespace. */
export function clusterOf(plan: Plan, extra: Endpoint[] = []): Cluster {
  return {
    endpoints: [...plan.pods.map(endpointOf), ...extra],
    namespaces: new Map(plan.namespaces.map((n) => [n.name, n.labels])),
  };
}

export const endpointOf = (p: Pod): Endpoint => ({ name: p.name, namespace: p.namespace, ip: p.ip, labels: p.labels, ports: p.ports });

type PeerMatch = { any: true } | { cidr: string; except: string[] };
type PortMatch = { any: true } | { protocol: string; dport?: string; ip?: string };

function peerMatches_(peers: NetworkPolicyPeer[] | undefined, ns: string, cluster: Cluster): PeerMatch[] {
  if (!peers || !peers.length) return [{ any: true }];
  return peers.flatMap((peer): PeerMatch[] => {
    if (peer.ipBlock) return [{ cidr: peer.ipBlock.cidr, except: peer.ipBlock.except ?? [] }];
    return cluster.endpoints.filter((e) => e.namespace && peerMatches(peer, ns, e, cluster)).map((e) => ({ cidr: `${e.ip}/32`, except: [] }));
  });
}

/** Ports of a rule; named ports resolve on `targets` (the local pods for ingress, every pod for egress). */
function portMatches(ports: NetworkPolicyPort[] | undefined, targets: Endpoint[]): PortMatch[] {
  if (!ports || !ports.length) return [{ any: true }];
  return ports.flatMap((p): PortMatch[] => {
    const protocol = (p.protocol ?? 'TCP').toLowerCase();
    if (p.port === undefined) return [{ protocol }];
    if (typeof p.port === 'number') return [{ protocol, dport: p.endPort !== undefined ? `${p.port}:${p.endPort}` : String(p.port) }];
    return targets.flatMap((t) => t.ports.filter((x) => x.name === p.port && x.protocol.toLowerCase() === protocol).map((x) => ({ protocol, dport: String(x.port), ip: t.ip })));
  });
}

function matchText(type: PolicyType, peer: PeerMatch, port: PortMatch): string | undefined {
  const peerSide = type === 'Ingress' ? '-s' : '-d';
  const parts: string[] = [];
  if (!('any' in peer)) parts.push(`${peerSide} ${peer.cidr}`);
  if (!('any' in port)) {
    if (port.ip) {
      // A named port pins the destination; with an egress peer it must lie in the peer too.
      if (type === 'Egress' && !('any' in peer) && !inIpBlock(port.ip, { cidr: peer.cidr, except: peer.except })) return undefined;
      if (!(type === 'Egress' && !('any' in peer) && peer.cidr === `${port.ip}/32`)) parts.push(`-d ${port.ip}/32`);
    }
    parts.push(`-p ${port.protocol}`);
    if (port.dport) parts.push(`-m ${port.protocol} --dport ${port.dport}`);
  }
  return parts.join(' ');
}

/** The policy's chain for one direction on this node: `:chain` declarations and rules. */
function policyRules(p: NetworkPolicy, type: PolicyType, local: Endpoint[], cluster: Cluster): { chains: string[]; rules: string[] } {
  const chain = policyChain(p, type);
  const chains = [chain];
  const rules: string[] = [];
  const list = type === 'Ingress' ? (p.spec.ingress ?? []).map((r) => ({ peers: r.from, ports: r.ports })) : (p.spec.egress ?? []).map((r) => ({ peers: r.to, ports: r.ports }));
  const targets = type === 'Ingress' ? local : cluster.endpoints;
  let sub = 0;
  list.forEach((r, i) => {
    const ports = portMatches(r.ports, targets);
    for (const peer of peerMatches_(r.peers, p.metadata.namespace, cluster)) {
      for (const port of ports) {
        const m = matchText(type, peer, port);
        if (m === undefined) continue;
        const note = comment(`${policyId(p)} ${type.toLowerCase()} rule ${i}`);
        if ('except' in peer && peer.except.length) {
          // ipBlock except: a sub-chain returns early for the excluded ranges.
          const subChain = `${chain.slice(0, 22)}-b${sub++}`;
          chains.push(subChain);
          const side = type === 'Ingress' ? '-s' : '-d';
          for (const e of peer.except) rules.push(`-A ${subChain} ${side} ${e} ${comment('except')} -j RETURN`);
          rules.push(`-A ${subChain} ${m} ${note} ${MARK_ACCEPT}`);
          rules.push(`-A ${chain} -j ${subChain}`);
        } else {
          rules.push(`-A ${chain} ${m ? `${m} ` : ''}${note} ${MARK_ACCEPT}`);
        }
        rules.push(`-A ${chain} ${RETURN_IF_ACCEPTED}`);
      }
    }
  });
  return { chains, rules };
}

/** Filter-table chains and rules for the pods of one node. */
export function felixFilter(plan: Plan, node: string, policies: NetworkPolicy[], cluster: Cluster): { chains: string[]; rules: string[] } {
  const pods = plan.pods.filter((p) => p.node === node);
  const chains = ['cali-FORWARD', 'cali-from-wl-dispatch', 'cali-to-wl-dispatch'];
  const rules = [
    `-A FORWARD ${comment('cali:wUHhoiAYhphO9Mso')} -j cali-FORWARD`,
    `-A cali-FORWARD -j MARK --set-xmark 0x0/0x10000`,
    `-A cali-FORWARD -i cali+ ${comment('from workload endpoints')} -j cali-from-wl-dispatch`,
    `-A cali-FORWARD -o cali+ ${comment('to workload endpoints')} -j cali-to-wl-dispatch`,
    `-A cali-FORWARD -m mark --mark ${ACCEPT_MARK} ${comment('policy accepted packet')} -j ACCEPT`,
  ];
  const byPolicy = new Map<string, { p: NetworkPolicy; type: PolicyType; local: Endpoint[] }>();
  for (const pod of pods) {
    const ep = endpointOf(pod);
    for (const [type, prefix, dir] of [['Ingress', 'tw', '-o'], ['Egress', 'fw', '-i']] as const) {
      const chain = `cali-${prefix}-${pod.hostIface}`;
      chains.push(chain);
      rules.push(`-A cali-${prefix === 'tw' ? 'to' : 'from'}-wl-dispatch ${dir} ${pod.hostIface} -g ${chain}`);
      rules.push(
        `-A ${chain} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
        `-A ${chain} -m conntrack --ctstate INVALID -j DROP`,
        `-A ${chain} -j MARK --set-xmark 0x0/0x10000`,
      );
      const sel = selecting(policies, ep, type);
      if (!sel.length) {
        rules.push(`-A ${chain} ${comment(`no ${type.toLowerCase()} policy selects ${pod.namespace}/${pod.name}: allowed`)} ${MARK_ACCEPT}`, `-A ${chain} -j RETURN`);
        continue;
      }
      rules.push(`-A ${chain} ${comment('Start of policies')} -j MARK --set-xmark 0x0/0x20000`);
      for (const p of sel) {
        const key = `${type}/${policyId(p)}`;
        if (!byPolicy.has(key)) byPolicy.set(key, { p, type, local: [] });
        byPolicy.get(key)!.local.push(ep);
        rules.push(`-A ${chain} ${comment(`policy ${policyId(p)}`)} -j ${policyChain(p, type)}`, `-A ${chain} ${RETURN_IF_ACCEPTED.replace('-j RETURN', `${comment('Return if policy accepted')} -j RETURN`)}`);
      }
      rules.push(`-A ${chain} ${comment('Drop if no policies passed packet')} -j DROP`);
    }
  }
  for (const { p, type, local } of byPolicy.values()) {
    const r = policyRules(p, type, local, cluster);
    chains.push(...r.chains);
    rules.push(...r.rules);
  }
  return { chains, rules };
}
