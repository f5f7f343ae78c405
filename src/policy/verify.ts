// What verify adds for NetworkPolicy and Services (DESIGN 8): the ping intent follows
// the policies in force (a pair blocked for ICMP must get no reply), and extra checks
// that every Service answers from its endpoints and, in BGP mode, that every switch
// routes the service range. Observers are here too; the checks are pure.
import type { Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import { makeReport, unknownCheck, type Check, type Report } from '../verify/types.js';
import type { Observations } from '../verify/checks/observations.js';
import { parseCidr } from '../plan/ip.js';
import type { NetworkPolicy } from './types.js';
import { evaluate, why } from './engine.js';
import { clusterOf, endpointOf } from './felix.js';
import { PROBE_TIMEOUT_S, probeList, unobserved, type ProbeResult } from './probe.js';

/** Pure: why the policies block ICMP from one pod to another, or undefined when allowed (undefined without policies). */
export function icmpBlocker(plan: Plan, policies: NetworkPolicy[]): ((from: string, to: string) => string | undefined) | undefined {
  if (!policies.length) return undefined;
  const cluster = clusterOf(plan);
  const pods = new Map(plan.pods.map((p) => [p.name, p]));
  return (a, b) => {
    const from = endpointOf(pods.get(a)!);
    const to = endpointOf(pods.get(b)!);
    const v = evaluate(policies, cluster, from, to, { protocol: 'ICMP' });
    return v.allowed ? undefined : why(v, from, to, { protocol: 'ICMP' });
  };
}

/** Tries per Service port in the first round (one probe process, its tries in parallel). */
export const SERVICE_TRIES = 8;
/** A healthy Service may still answer from one node only by chance: at most these odds. */
const MISS_ODDS = 1e-9;
const MAX_TRIES = 512;

/**
 * Pure: the most tries verify makes before it says a Service answers from one node only.
 * kube-proxy picks an endpoint uniformly per connection, so k tries all land on one node's
 * endpoints with odds sum(share^k) <= nodes * biggest share^k. Eight tries were not
 * enough: 4 endpoints on 2 nodes missed one node once in 128 (CI saw it).
 */
export function serviceTriesBound(endpointNodes: string[]): number {
  const count = new Map<string, number>();
  for (const n of endpointNodes) count.set(n, (count.get(n) ?? 0) + 1);
  if (count.size < 2) return SERVICE_TRIES;
  const biggest = Math.max(...count.values()) / endpointNodes.length;
  return Math.min(MAX_TRIES, Math.max(SERVICE_TRIES, Math.ceil(Math.log(MISS_ODDS / count.size) / Math.log(biggest))));
}

/** One round of tries at a Service: how long each request had, and what came back. */
export interface ServiceRound { timeoutS: number; results: ProbeResult[] }

const SLOW_S = PROBE_TIMEOUT_S * 3;

/** How many nodes' endpoints a Service check wants to see answer: two where it has them. */
const nodesWanted = (endpointNodes: Iterable<string>) => Math.min(2, new Set(endpointNodes).size);
/** The endpoint pod that answered (its responder says its name first). */
const answerer = (r: { answer: string }) => r.answer.split(' ')[0];
/** The nodes whose endpoints answered. */
const answeringNodes = (results: ProbeResult[], nodeOfPod: Map<string, string>) =>
  new Set(results.flatMap((r) => r.ok ? [nodeOfPod.get(answerer(r))].filter((n): n is string => !!n) : []));

/**
 * Pure: the next round of tries for a Service, or undefined when the rounds can be judged.
 * Requests left unanswered with the short timeout (a loaded host) are asked again, as many,
 * with three times the time, as verify does with its observations; unanswered then, the
 * Service fails (some endpoint does not answer through it). While the answers come from
 * fewer nodes than the check wants, more tries are made, up to serviceTriesBound.
 */
export function nextServiceRound(endpointNodes: string[], endpointOfPod: Map<string, string>, rounds: ServiceRound[]): { tries: number; timeoutS: number } | undefined {
  if (!rounds.length) return { tries: SERVICE_TRIES, timeoutS: PROBE_TIMEOUT_S };
  const all = rounds.flatMap((r) => r.results);
  if (all.every(unobserved)) return undefined;
  const last = rounds[rounds.length - 1];
  const unanswered = last.results.some((r) => !r.ok);
  if (unanswered && last.timeoutS < SLOW_S) return { tries: SERVICE_TRIES, timeoutS: SLOW_S };
  if (unanswered || !all.some((r) => r.ok)) return undefined;
  const bound = serviceTriesBound(endpointNodes) + SERVICE_TRIES;
  if (answeringNodes(all, endpointOfPod).size >= nodesWanted(endpointNodes) || all.length >= bound) return undefined;
  return { tries: Math.min(4 * SERVICE_TRIES, bound - all.length), timeoutS: PROBE_TIMEOUT_S };
}

/** Observer: a Service's rounds of tries from its client, until nextServiceRound says enough. */
export async function sampleService(plan: Plan, provider: Provider, p: ServiceTarget): Promise<ServiceProbe> {
  const s = plan.services.find((x) => `${x.namespace}/${x.name}` === p.service)!;
  const endpointNodes = s.endpoints.map((e) => e.node);
  const endpointOfPod = new Map(s.endpoints.map((e) => [e.pod, e.node]));
  const rounds: ServiceRound[] = [];
  for (let next = nextServiceRound(endpointNodes, endpointOfPod, rounds); next; next = nextServiceRound(endpointNodes, endpointOfPod, rounds)) {
    rounds.push({ timeoutS: next.timeoutS, results: await probeList(provider, plan.name, p.client, Array(next.tries).fill(p.target), next.timeoutS) });
  }
  return { ...p, rounds };
}

export interface ServiceProbe {
  service: string; target: string; via: 'cluster IP' | 'node port'; client: string;
  /** The rounds of tries, in order, each with how long its requests had. */
  rounds: ServiceRound[];
}

/** Where a Service is asked: the probe without its rounds. */
export type ServiceTarget = Omit<ServiceProbe, 'rounds'>;

/** Pure: which requests verify makes (client: a pod not behind the Service when there is one). */
export function serviceProbes(plan: Plan, policies: NetworkPolicy[]): ServiceTarget[] {
  const cluster = clusterOf(plan);
  const podBy = new Map(plan.pods.map((x) => [x.name, x]));
  return plan.services.flatMap((s) => {
    if (!s.endpoints.length) return [];
    const p = s.ports[0];
    // A client the policies let through to every endpoint, preferably not one of them
    // (the first that is: a scan of every pod against every endpoint was 0.4 s on dc-256).
    const allowed = (c: typeof plan.pods[number]) => !policies.length || s.endpoints.every((e) => {
      const to = podBy.get(e.pod)!;
      return c === to || evaluate(policies, cluster, endpointOf(c), endpointOf(to), { protocol: 'TCP', port: p.targetPort }).allowed;
    });
    const client = plan.pods.find((c) => c.workload !== s.name && allowed(c)) ?? plan.pods.find(allowed);
    if (!client) return [];
    const out: ServiceTarget[] = [{ service: `${s.namespace}/${s.name}`, target: `${s.clusterIP}:${p.port}`, via: 'cluster IP', client: client.name }];
    if (p.nodePort !== undefined) {
      const node = plan.nodes.find((n) => n.name !== client.node) ?? plan.nodes[0];
      out.push({ service: `${s.namespace}/${s.name}`, target: `${node.addr.ip}:${p.nodePort}`, via: 'node port', client: client.name });
    }
    return out;
  });
}

export async function observeServices(plan: Plan, provider: Provider, policies: NetworkPolicy[]): Promise<ServiceProbe[]> {
  return Promise.all(serviceProbes(plan, policies).map((p) => sampleService(plan, provider, p)));
}

export function serviceChecks(plan: Plan, probes: ServiceProbe[]): Check[] {
  return probes.map((p) => {
    const node = plan.pods.find((x) => x.name === p.client)?.node;
    return judgeService(plan, p, 'service', `look at kube-proxy's chains on ${node}: \`lab exec ${plan.name} ${node} -- iptables-save -t nat\``);
  });
}

/** Pure: a Service answered by its endpoints, by more than one node's where it has several. */
export function judgeService(plan: Plan, p: ServiceProbe, kind: 'service' | 'outside-service', hint: string): Check {
  const s = plan.services.find((x) => `${x.namespace}/${x.name}` === p.service)!;
  const subject = `${p.client} -> ${p.service} ${p.via} ${p.target}`;
  const nodeOfPod = new Map(s.endpoints.map((e) => [e.pod, e.node]));
  const results = p.rounds.flatMap((r) => r.results);
  const answered = results.filter((r): r is { ok: true; answer: string } => r.ok);
  const byPod = new Map<string, number>();
  for (const r of answered) byPod.set(answerer(r), (byPod.get(answerer(r)) ?? 0) + 1);
  const nodes = answeringNodes(results, nodeOfPod);
  const strangers = [...byPod.keys()].filter((name) => !nodeOfPod.has(name));
  const wantNodes = nodesWanted(nodeOfPod.values());
  const failedAll = results.every((r) => !r.ok);
  const unobservable = results.every(unobserved);
  // Unanswered with the long timeout: some endpoint does not answer through the Service
  // (a load spike passes the second time). The short round's misses alone do not fail it.
  const slow = p.rounds.filter((r) => r.timeoutS > PROBE_TIMEOUT_S).flatMap((r) => r.results);
  const slowMissed = slow.filter((r) => !r.ok && !unobserved(r)).length;
  // The second look itself could not run: what it was to settle stays unknown.
  const slowUnseen = !unobservable && !slowMissed && slow.some(unobserved) ? (slow.find(unobserved) as { error: string }).error : undefined;
  const ok = !failedAll && !strangers.length && nodes.size >= wantNodes && !slowMissed && !slowUnseen;
  const errors = (rs: ProbeResult[]) => [...new Set(rs.flatMap((r) => r.ok ? [] : [r.error]))].join(', ');
  const observed = unobservable ? (results[0] as { error: string }).error
    : failedAll ? `no answer in ${results.length} tries (${errors(results)})`
    : `${answered.length}/${results.length} answered, by ${[...byPod].map(([n, c]) => `${n} x${c}`).join(', ')} (${nodes.size} node${nodes.size === 1 ? '' : 's'})`
      + (slowMissed ? `; ${slowMissed} of ${slow.length} unanswered with ${p.rounds.find((r) => r.timeoutS > PROBE_TIMEOUT_S)!.timeoutS} s each (${errors(slow.filter((r) => !unobserved(r)))}): not every endpoint answers through the Service` : '')
      + (slowUnseen ? `; the second look at the unanswered requests could not run: ${slowUnseen}` : '');
  return {
    kind, subject, about: { device: p.client, src: p.client, dst: p.service }, ok, ...(unobservable || slowUnseen ? { status: 'unknown' as const } : {}),
    expected: `answered by its endpoints${wantNodes > 1 ? ' on more than one node' : ''}`,
    observed,
    ...(ok ? {} : { hint }),
  };
}

/**
 * Pure, BGP mode: every switch routes the service range the nodes advertise. Read from
 * the kernel tables verify's device round already took (with its second look, more
 * time, for a table it could not read): no exec of its own.
 */
export function serviceRouteChecks(plan: Plan, obs: Observations): Check[] {
  const cidr = plan.cluster?.serviceSubnet;
  if (plan.networking !== 'bgp' || !plan.services.length || !cidr) return [];
  const want = parseCidr(cidr).text;
  return plan.switches.filter((s) => s.bgp).map((sw): Check => {
    const base = { kind: 'service-route' as const, subject: `${sw.name} ${cidr}`, about: { device: sw.name, prefix: cidr }, expected: 'present (advertised by the nodes: BGPConfiguration serviceClusterIPs)' };
    const hint = `check what the leaves learn from their nodes: \`lab exec ${plan.name} ${sw.name} -- vtysh -c 'show ip route ${cidr}'\``;
    const table = obs.switches.get(sw.name)?.kernel;
    // A table that could not be read could not look: unknown, not a fault of the lab.
    if (!table || !table.ok) return unknownCheck(base, `cannot read the routes: ${table && !table.ok ? table.error : 'not observed'}`, hint);
    const route = table.value.find((r) => r.prefix === want);
    if (!route) return { ...base, ok: false, observed: 'absent', hint };
    if (route.type !== 'unicast') return { ...base, ok: false, observed: route.type, hint };
    const n = route.nextHops.length;
    return { ...base, ok: true, observed: `present, ${n} next hop${n === 1 ? '' : 's'}` };
  });
}

/** verify with the policies in force and the Service checks: what `lab verify` and `lab up` report. */
export async function verifyWithServices(plan: Plan, provider: Provider, policies: NetworkPolicy[], opts: { signal?: AbortSignal; full?: boolean } = {}): Promise<Report> {
  const { observeLab, checkAll } = await import('../verify/index.js');
  const { verifyOutside } = await import('./outside.js');
  const obs = await observeLab(plan, provider, { ...opts, blockedBy: icmpBlocker(plan, policies) });
  opts.signal?.throwIfAborted();
  const report = checkAll(plan, obs);
  // The Service and outside probes after verify's own observations, never during them:
  // their TCP crosses the overlay too, and filled the 100 packets of verify's capture
  // (`udp port 4789 or icmp`) before its ping was seen (encapsulation failed, now and then).
  const services = await observeServices(plan, provider, policies);
  const outside = await verifyOutside(plan, provider, policies);
  return makeReport(plan.name, [...report.checks, ...serviceChecks(plan, services), ...serviceRouteChecks(plan, obs), ...outside], report.sample);
}
