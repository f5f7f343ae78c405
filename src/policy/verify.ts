// What verify adds for NetworkPolicy and Services (DESIGN 8): the ping intent follows
// the policies in force (a pair blocked for ICMP must get no reply), and extra checks
// that every Service answers from its endpoints and, in BGP mode, that every switch
// routes the service range. Observers are here too; the checks are pure.
import type { Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import { makeReport, type Check, type Report } from '../verify/types.js';
import type { NetworkPolicy } from './types.js';
import { evaluate, why } from './engine.js';
import { clusterOf, endpointOf } from './felix.js';
import { PROBE_TIMEOUT_S, probeList, type ProbeResult } from './probe.js';

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

/** The plan with its ping intent following the policies (pure). */
export function withPolicies(plan: Plan, policies: NetworkPolicy[]): Plan {
  const blocked = icmpBlocker(plan, policies);
  if (!blocked) return plan;
  const pings = plan.intent.pings.map((p) => {
    const by = blocked(p.from, p.to);
    return by ? { ...p, blockedBy: by } : p;
  });
  return { ...plan, intent: { ...plan.intent, pings } };
}

/** Tries per Service port: enough that several endpoints show up (4 endpoints: all on one, p < 0.1%). */
export const SERVICE_TRIES = 8;

export interface ServiceProbe { service: string; target: string; via: 'cluster IP' | 'node port'; client: string; results: ProbeResult[] }

/** Pure: which requests verify makes (client: a pod not behind the Service when there is one). */
export function serviceProbes(plan: Plan, policies: NetworkPolicy[]): Omit<ServiceProbe, 'results'>[] {
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
    const out: Omit<ServiceProbe, 'results'>[] = [{ service: `${s.namespace}/${s.name}`, target: `${s.clusterIP}:${p.port}`, via: 'cluster IP', client: client.name }];
    if (p.nodePort !== undefined) {
      const node = plan.nodes.find((n) => n.name !== client.node) ?? plan.nodes[0];
      out.push({ service: `${s.namespace}/${s.name}`, target: `${node.addr.ip}:${p.nodePort}`, via: 'node port', client: client.name });
    }
    return out;
  });
}

export async function observeServices(plan: Plan, provider: Provider, policies: NetworkPolicy[]): Promise<ServiceProbe[]> {
  return Promise.all(serviceProbes(plan, policies).map(async (p) => {
    const tries = Array(SERVICE_TRIES).fill(p.target);
    const results = await probeList(provider, plan.name, p.client, tries);
    // Requests that went unanswered on a loaded host (a 1 s timeout) are asked once more
    // with more time before the check judges, as verify does with its observations.
    if (results.some((r) => !r.ok)) results.push(...await probeList(provider, plan.name, p.client, tries, PROBE_TIMEOUT_S * 3));
    return { ...p, results };
  }));
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
  const nodesOfEndpoints = new Set(s.endpoints.map((e) => e.node));
  const answered = p.results.filter((r): r is { ok: true; answer: string } => r.ok);
  const byPod = new Map<string, number>();
  for (const r of answered) { const name = r.answer.split(' ')[0]; byPod.set(name, (byPod.get(name) ?? 0) + 1); }
  const nodes = new Set([...byPod.keys()].map((name) => s.endpoints.find((e) => e.pod === name)?.node).filter(Boolean));
  const strangers = [...byPod.keys()].filter((name) => !s.endpoints.some((e) => e.pod === name));
  const wantNodes = Math.min(2, nodesOfEndpoints.size);
  const failedAll = p.results.every((r) => !r.ok);
  const unobservable = failedAll && p.results.every((r) => !r.ok && r.error.startsWith('could not probe'));
  const ok = !failedAll && !strangers.length && nodes.size >= wantNodes;
  const observed = unobservable ? (p.results[0] as { error: string }).error
    : failedAll ? `no answer in ${p.results.length} tries (${[...new Set(p.results.map((r) => (r as { error: string }).error))].join(', ')})`
    : `${answered.length}/${p.results.length} answered, by ${[...byPod].map(([n, c]) => `${n} x${c}`).join(', ')} (${nodes.size} node${nodes.size === 1 ? '' : 's'})`;
  return {
    kind, subject, about: { device: p.client, src: p.client, dst: p.service }, ok, ...(unobservable ? { status: 'unknown' as const } : {}),
    expected: `answered by its endpoints${wantNodes > 1 ? ' on more than one node' : ''}`,
    observed,
    ...(ok ? {} : { hint }),
  };
}

export const SERVICE_ROUTE_QUERY = (cidr: string) => ['ip', '-j', 'route', 'show', cidr];

/** BGP mode: every switch routes the service range the nodes advertise. */
export async function observeServiceRoutes(plan: Plan, provider: Provider): Promise<Map<string, { ok: boolean; text: string }>> {
  const out = new Map<string, { ok: boolean; text: string }>();
  if (plan.networking !== 'bgp' || !plan.services.length || !plan.cluster) return out;
  await Promise.all(plan.switches.filter((s) => s.bgp).map(async (sw) => {
    const r = await provider.exec(plan.name, sw.name, SERVICE_ROUTE_QUERY(plan.cluster!.serviceSubnet), { timeoutMs: 5000 }).catch((e: Error) => ({ stdout: '', stderr: e.message, exitCode: -1 }));
    out.set(sw.name, r.exitCode === 0 ? { ok: true, text: r.stdout } : { ok: false, text: r.stderr.trim() || `exit ${r.exitCode}` });
  }));
  return out;
}

export function serviceRouteChecks(plan: Plan, seen: Map<string, { ok: boolean; text: string }>): Check[] {
  const cidr = plan.cluster?.serviceSubnet;
  return [...seen].map(([sw, r]) => {
    let routes: { dst: string; nexthops?: unknown[]; gateway?: string }[] = [];
    try { routes = r.ok ? JSON.parse(r.text || '[]') : []; } catch { routes = []; }
    const route = routes.find((x) => x.dst === cidr);
    const hops = route ? (route.nexthops?.length ?? 1) : 0;
    return {
      // An exec that failed could not look: unknown, not a fault of the lab.
      kind: 'service-route' as const, subject: `${sw} ${cidr}`, about: { device: sw, ...(cidr ? { prefix: cidr } : {}) }, ok: !!route, ...(!r.ok ? { status: 'unknown' as const } : {}),
      expected: 'present (advertised by the nodes: BGPConfiguration serviceClusterIPs)',
      observed: !r.ok ? `cannot read the routes: ${r.text}` : route ? `present, ${hops} next hop${hops === 1 ? '' : 's'}` : 'absent',
      ...(route ? {} : { hint: `check what the leaves learn from their nodes: \`lab exec ${plan.name} ${sw} -- vtysh -c 'show ip route ${cidr}'\`` }),
    };
  });
}

/** verify with the policies in force and the Service checks: what `lab verify` and `lab up` report. */
export async function verifyWithServices(plan: Plan, provider: Provider, policies: NetworkPolicy[], opts: { signal?: AbortSignal; full?: boolean } = {}): Promise<Report> {
  const { verify } = await import('../verify/index.js');
  const { verifyOutside } = await import('./outside.js');
  const [report, routes] = await Promise.all([
    verify(plan, provider, { ...opts, blockedBy: icmpBlocker(plan, policies) }),
    observeServiceRoutes(plan, provider),
  ]);
  // The Service and outside probes after verify's own observations, never during them:
  // their TCP crosses the overlay too, and filled the 100 packets of verify's capture
  // (`udp port 4789 or icmp`) before its ping was seen (encapsulation failed, now and then).
  const services = await observeServices(plan, provider, policies);
  const outside = await verifyOutside(plan, provider, policies);
  return { ...report, ...makeReport(plan.name, [...report.checks, ...serviceChecks(plan, services), ...serviceRouteChecks(plan, routes), ...outside], report.sample) };
}
