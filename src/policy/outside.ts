// What verify checks of the way out (lab file `outside:`), the observers and the pure
// checks apart:
// - snat: a pod's connection to the outside host arrives from the node's address when
//   the pool masquerades (Calico natOutgoing, bridge CNI masquerade) and from the pod's
//   own address when it does not. Seen where it arrives: tcpdump on the outside host's
//   eth0 catches the SYNs, so the source is observed even when no reply can come back
//   (an overlay without NAT: the fabric has no route to the pods). One pod per node, so
//   every source address names one probe.
// - outside-service (BGP mode): the outside host, a client beyond the cluster, reaches
//   each Service's cluster IP through the service range the nodes advertise.
import type { OutsideHost, Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import type { Check } from '../verify/types.js';
import type { Endpoint, NetworkPolicy } from './types.js';
import { listenFirst } from '../observe/capture.js';
import { evaluate } from './engine.js';
import { clusterOf, endpointOf } from './felix.js';
import { PROBE_TIMEOUT_S, probeList, type ProbeResult } from './probe.js';
import { judgeService, sampleService, type ServiceProbe, type ServiceTarget } from './verify.js';

/** One probing pod, its node, and whether its pool masquerades (the source the outside host must see). */
export interface SnatProbe { pod: string; node: string; podIp: string; nodeIp: string; masquerade: boolean }

export interface SnatSeen {
  /** Source addresses of the SYNs that reached the outside host from this pod or its node. */
  sources: string[];
  /** The probe's own result: the outside host's answer names the source it saw. */
  result: ProbeResult;
}

/** What the outside host saw, or why it could not be looked at. */
export type SnatObservation = { ok: true; seen: Map<string, SnatSeen> } | { ok: false; error: string };

const outsideEndpoint = (o: OutsideHost): Endpoint => ({ name: o.name, ip: o.addr.ip, labels: {}, ports: [{ port: o.port, protocol: 'TCP' }] });
const target = (o: OutsideHost) => `${o.addr.ip}:${o.port}`;

/** Does the pool masquerade traffic leaving the pod network? (Calico natOutgoing, bridge masquerade.) */
export const masquerades = (plan: Plan) => !!plan.cluster?.natOutgoing;

/** Pure: one pod per node that the policies let reach the outside host on its port. */
export function snatProbes(plan: Plan, policies: NetworkPolicy[]): SnatProbe[] {
  const o = plan.outside;
  if (!o || !plan.cluster) return [];
  const cluster = clusterOf(plan);
  const to = outsideEndpoint(o);
  return plan.nodes.flatMap((n) => {
    const pod = plan.pods.find((p) => p.node === n.name && evaluate(policies, cluster, endpointOf(p), to, { protocol: 'TCP', port: o.port }).allowed);
    return pod ? [{ pod: pod.name, node: n.name, podIp: pod.ip, nodeIp: n.addr.ip, masquerade: masquerades(plan) }] : [];
  });
}

/** tcpdump on the outside host: connection attempts (SYN without ACK) to its port. */
export const snatCaptureArgs = (o: OutsideHost) => ['-n', '-l', '--immediate-mode', '-Q', 'in', `tcp dst port ${o.port} and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn`];

/** Pure: the source address of each captured SYN line ("... IP 10.0.101.101.40312 > 203.0.113.2.80: Flags [S], ..."). */
export function synSources(lines: string[]): string[] {
  return lines.flatMap((l) => {
    const m = /\bIP (\d+\.\d+\.\d+\.\d+)\.\d+ > /.exec(l);
    return m ? [m[1]] : [];
  });
}

const LISTEN_WAIT_MS = 10_000;
const GRACE_MS = 250;

/** Capture on the outside host while every probe pod connects to it. */
export async function observeSnat(plan: Plan, provider: Provider, probes: SnatProbe[], slow = 1): Promise<SnatObservation> {
  const o = plan.outside!;
  const stop = new AbortController();
  const lines: string[] = [];
  const mine = (p: SnatProbe, srcs: string[]) => srcs.filter((s) => s === p.podIp || s === p.nodeIp);
  const settled = () => { const s = synSources(lines); return probes.every((p) => mine(p, s).length > 0); };
  const { capture, first: listened } = listenFirst((onListening) => provider.capture(plan.name, o.name, o.iface, snatCaptureArgs(o), {
    durationMs: (LISTEN_WAIT_MS + 3000 + PROBE_TIMEOUT_S * 3000) * slow,
    signal: stop.signal,
    onListening,
    onLine: (line) => { lines.push(line); if (settled()) stop.abort(); },
  }), LISTEN_WAIT_MS * slow);
  try {
    const first = await listened;
    if (first !== 'listening') {
      stop.abort();
      const end = await capture;
      const why = 'error' in end ? end.error : end.result.stderr.trim().split('\n').pop() || `exit code ${end.result.exitCode}`;
      return { ok: false, error: first === 'timeout' ? `tcpdump on ${o.name} did not start listening in ${LISTEN_WAIT_MS * slow} ms` : `tcpdump on ${o.name}: ${why}` };
    }
    const results = await Promise.all(probes.map(async (p) => (await probeList(provider, plan.name, p.pod, [target(o)], PROBE_TIMEOUT_S * slow))[0]));
    if (!stop.signal.aborted) await new Promise((resolve) => setTimeout(resolve, GRACE_MS * slow));
    stop.abort();
    await capture;
    const sources = synSources(lines);
    return { ok: true, seen: new Map(probes.map((p, i) => [p.pod, { sources: [...new Set(mine(p, sources))], result: results[i] }])) };
  } finally {
    stop.abort();
  }
}

/** Pure: each probe's source as seen at the outside host, against the pool's masquerade setting. */
export function snatChecks(plan: Plan, probes: SnatProbe[], obs: SnatObservation | undefined): Check[] {
  const o = plan.outside;
  if (!o) return [];
  return probes.map((p) => {
    const want = p.masquerade ? p.nodeIp : p.podIp;
    const base = {
      kind: 'snat' as const,
      subject: `${p.pod} -> ${o.name} ${target(o)}`,
      expected: p.masquerade ? `source ${p.nodeIp} (node ${p.node}: the pool masquerades traffic leaving the pod network)`
        : `source ${p.podIp} (the pod's own: no masquerade)`,
    };
    const hint = `look at the node's nat table: \`lab exec ${plan.name} ${p.node} -- iptables -t nat -S POSTROUTING\`; watch it arrive: \`lab capture ${plan.name} ${o.name} ${o.iface}\``;
    if (!obs) return { ...base, ok: false, status: 'unknown' as const, observed: 'not observed' };
    if (!obs.ok) return { ...base, ok: false, status: 'unknown' as const, observed: obs.error };
    const seen = obs.seen.get(p.pod)!;
    const answer = seen.result.ok ? `answered "${seen.result.answer.trim()}"` : `no answer (${seen.result.error})`;
    if (!seen.sources.length) {
      if (!seen.result.ok && seen.result.error.startsWith('could not probe')) return { ...base, ok: false, status: 'unknown' as const, observed: seen.result.error };
      return { ...base, ok: false, observed: `nothing from ${p.podIp} or ${p.nodeIp} reached ${o.name}; ${answer}`, hint };
    }
    const named = seen.sources.map((s) => `${s} (${s === p.nodeIp ? `node ${p.node}` : 'the pod'})`).join(' and ');
    const sourceOk = seen.sources.length === 1 && seen.sources[0] === want;
    // The reply can come back only to an address the outside host can route to: a node
    // (masquerade), or a pod where the fabric routes the pod blocks (BGP mode).
    const returnPath = p.masquerade || plan.networking === 'bgp';
    const ok = sourceOk && (seen.result.ok || !returnPath);
    const why = seen.result.ok ? '' : returnPath ? ': the request arrived but no answer came back' : ` (as expected: nothing routes ${p.podIp} back from ${o.name})`;
    return { ...base, ok, observed: `SYN from ${named}; ${answer}${why}`, ...(ok ? {} : { hint }) };
  });
}

/** Pure (BGP mode): the Services the outside host asks, where the policies let it reach every endpoint. */
export function outsideServiceProbes(plan: Plan, policies: NetworkPolicy[]): ServiceTarget[] {
  const o = plan.outside;
  if (!o || plan.networking !== 'bgp') return [];
  const cluster = clusterOf(plan);
  // kube-proxy masquerades it to the address of the node it entered (KUBE-MARK-MASQ), so
  // an endpoint sees the outside host or a node: both must be let through.
  const sources: Endpoint[] = [outsideEndpoint(o), ...plan.nodes.map((n) => ({ name: n.name, ip: n.addr.ip, labels: {}, ports: [] }))];
  return plan.services.flatMap((s) => {
    const p = s.ports[0];
    if (!s.endpoints.length) return [];
    const allowed = s.endpoints.every((e) => {
      const to = endpointOf(plan.pods.find((x) => x.name === e.pod)!);
      return sources.every((from) => evaluate(policies, cluster, from, to, { protocol: 'TCP', port: p.targetPort }).allowed);
    });
    return allowed ? [{ service: `${s.namespace}/${s.name}`, target: `${s.clusterIP}:${p.port}`, via: 'cluster IP' as const, client: o.name }] : [];
  });
}

export async function observeOutsideServices(plan: Plan, provider: Provider, probes: ServiceTarget[]): Promise<ServiceProbe[]> {
  const out: ServiceProbe[] = [];
  // One client: its probes one Service after the other (each probe process runs its tries in parallel).
  for (const p of probes) {
    out.push(await sampleService(plan, provider, p));
  }
  return out;
}

export function outsideServiceChecks(plan: Plan, probes: ServiceProbe[]): Check[] {
  const o = plan.outside!;
  const border = o?.attachedTo;
  return probes.map((p) => judgeService(plan, p, 'outside-service',
    `the service range must be routed from ${border} to the nodes: \`lab exec ${plan.name} ${border} -- vtysh -c 'show ip route ${plan.cluster?.serviceSubnet}'\`; then kube-proxy's chains on the node it enters: \`iptables-save -t nat\``));
}

const complete = (o: SnatObservation, probes: SnatProbe[]) => o.ok && probes.every((p) => !!o.seen.get(p.pod)?.sources.length);

/** Everything verify adds for the outside host (nothing without one, or on a provider that does not build it). */
export async function verifyOutside(plan: Plan, provider: Provider, policies: NetworkPolicy[]): Promise<Check[]> {
  if (!plan.outside || !provider.capabilities.outside) return [];
  const probes = snatProbes(plan, policies);
  const svc = outsideServiceProbes(plan, policies);
  // One after the other: the probes share two cores, and the capture stays short.
  const services = await observeOutsideServices(plan, provider, svc);
  let snat: SnatObservation | undefined;
  if (probes.length) {
    snat = await observeSnat(plan, provider, probes);
    // Once more with more time when anything was not seen (a loaded host).
    if (!complete(snat, probes)) snat = await observeSnat(plan, provider, probes, 3);
  }
  return [...snatChecks(plan, probes, snat), ...outsideServiceChecks(plan, services)];
}
