// verify: observe a running lab through the shared observation layer (src/observe/) and
// compare with the plan's intent (DESIGN section 6). The checks are pure functions of
// what was seen. What could not be seen is observed once more, with three times the
// time, before it is reported `unknown`.
import type { Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import { makeReport, type Report } from './types.js';
import { observeSwitch, observeNode, observedDevices, observeAsPaths, observeRib, OBSERVE_TIMEOUT_MS } from '../observe/device.js';
import { observeReach } from '../observe/reach.js';
import { observeEncapsulation } from '../observe/capture.js';
import { isUnknown } from '../observe/types.js';
import { emptyObservations, type Observations } from './checks/observations.js';
import { sessionChecks, extraSessionChecks } from './checks/bgp.js';
import { routeChecks, routeDetours } from './checks/routes.js';
import { mtuChecks } from './checks/mtu.js';
import { pingChecks } from './checks/ping.js';
import { encapsulationChecks } from './checks/encapsulation.js';
import { samplePairs, pairKey } from './sample.js';

export type { Report, Check, CheckKind, CheckStatus } from './types.js';
export { formatReport } from './format.js';

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Probe every pod pair whatever the lab's size. */
  full?: boolean;
  /** Why a pair may not answer ICMP (NetworkPolicy in force), or undefined. */
  blockedBy?: (fromPod: string, toPod: string) => string | undefined;
}

/** Pure: every check of the intent against what was observed. */
export function checkAll(plan: Plan, obs: Observations): Report {
  return makeReport(plan.name, [
    ...sessionChecks(plan, obs),
    ...extraSessionChecks(plan, obs),
    ...routeChecks(plan, obs),
    ...mtuChecks(plan, obs),
    ...pingChecks(plan, obs),
    ...encapsulationChecks(plan, obs),
  ], obs.sample ? { pairs: obs.sample.pairs, of: obs.sample.of } : { pairs: 0, of: 0 });
}

/**
 * Which parts of an observation round to (re)do. `recheck`: per source pod, the targets
 * that gave no reply, asked once more (carefully) before they are judged.
 */
interface Round { switches: string[]; nodes: Array<{ name: string; bgp: boolean }>; sources: string[]; recheck: Map<string, string[]>; capture: boolean }

async function observeRound(plan: Plan, provider: Provider, obs: Observations, round: Round, slow: number, signal?: AbortSignal): Promise<void> {
  const lab = plan.name;
  const timeoutMs = OBSERVE_TIMEOUT_MS * slow;
  const sample = obs.sample!;
  const e = plan.intent.encapsulation;
  await Promise.all([
    // The capture first: it takes its slot for the pinger only once tcpdump listens.
    ...(e && round.capture ? [(async () => { obs.capture = await observeEncapsulation(provider, lab, e, signal, slow); })()] : []),
    ...round.switches.map(async (s) => { obs.switches.set(s, await observeSwitch(provider, lab, s, timeoutMs)); }),
    ...round.nodes.map(async (n) => { obs.nodes.set(n.name, await observeNode(provider, lab, n.name, n.bgp, timeoutMs)); }),
    ...round.sources.map(async (pod) => {
      const pairs = sample.bySource.get(pod)!;
      const ttl = pairs.filter((p) => sample.ttl.has(pairKey(pod, p.toIp))).map((p) => p.toIp);
      obs.reach.set(pod, await observeReach(provider, lab, pod, pairs.map((p) => p.toIp), ttl, timeoutMs, false, pairs.some((p) => !!p.blockedBy)));
    }),
    ...[...round.recheck].map(async ([pod, targets]) => {
      const ttl = targets.filter((ip) => sample.ttl.has(pairKey(pod, ip)));
      const again = await observeReach(provider, lab, pod, targets, ttl, timeoutMs, true);
      const first = obs.reach.get(pod);
      // A second look that itself failed leaves the first answer standing.
      if (!again.ok || !first?.ok) return;
      for (const [ip, r] of again.value.replies) first.value.replies.set(ip, r);
      for (const [ip, t] of again.value.ttls) first.value.ttls.set(ip, t);
    }),
  ]);
}

export async function observeLab(plan: Plan, provider: Provider, opts: VerifyOptions = {}): Promise<Observations> {
  const obs = emptyObservations();
  obs.sample = samplePairs(plan, { full: opts.full, blockedBy: opts.blockedBy });
  const devices = observedDevices(plan);
  await observeRound(plan, provider, obs, { ...devices, sources: [...obs.sample.bySource.keys()], recheck: new Map(), capture: true }, 1, opts.signal);
  opts.signal?.throwIfAborted();
  // Once more, with more time, for whatever could not be seen, and for pairs that gave no reply.
  const recheck = new Map<string, string[]>();
  for (const [pod, pairs] of obs.sample.bySource) {
    const seen = obs.reach.get(pod);
    if (!seen?.ok) continue;
    const silent = pairs.filter((p) => !p.blockedBy && !(seen.value.replies.get(p.toIp)?.received)).map((p) => p.toIp);
    if (silent.length) recheck.set(pod, silent);
  }
  const again: Round = {
    recheck,
    switches: devices.switches.filter((s) => { const o = obs.switches.get(s); return !o || isUnknown(o.bgp) || isUnknown(o.kernel) || isUnknown(o.links); }),
    nodes: devices.nodes.filter((n) => { const o = obs.nodes.get(n.name); return !o || isUnknown(o.bgp) || isUnknown(o.kernel) || isUnknown(o.links); }),
    sources: [...obs.sample.bySource.keys()].filter((p) => isUnknown(obs.reach.get(p))),
    capture: isUnknown(obs.capture),
  };
  if (again.switches.length || again.nodes.length || again.sources.length || again.recheck.size || again.capture) {
    await observeRound(plan, provider, obs, again, 3, opts.signal);
  }
  // FRR's RIB of the switches whose kernel routes are not as intended (it explains a
  // kernel that disagrees with zebra), one vtysh call each; none on a lab as intended.
  const switchSet = new Set(devices.switches);
  const switchRoutes = plan.intent.routes.filter((r) => switchSet.has(r.device));
  const judged = routeChecks({ ...plan, intent: { ...plan.intent, routes: switchRoutes } }, obs);
  const suspects = new Set(switchRoutes.filter((_, i) => !judged[i].ok).map((r) => r.device));
  await Promise.all([...suspects].map(async (sw) => {
    const o = obs.switches.get(sw);
    if (o) obs.switches.set(sw, { ...o, rib: await observeRib(provider, plan.name, sw, OBSERVE_TIMEOUT_MS * 3) });
  }));
  // Routes through a neighbour the intent does not name (a valley): their AS paths, one
  // vtysh call per such switch; none on a lab as intended.
  const detours = routeDetours(plan, obs);
  if (detours.size) {
    obs.asPaths = new Map();
    await Promise.all([...detours].map(async ([sw, prefixes]) => { obs.asPaths!.set(sw, await observeAsPaths(provider, plan.name, sw, prefixes)); }));
  }
  return obs;
}

export async function verify(plan: Plan, provider: Provider, opts: VerifyOptions = {}): Promise<Report> {
  opts.signal?.throwIfAborted();
  const obs = await observeLab(plan, provider, opts);
  opts.signal?.throwIfAborted();
  return checkAll(plan, obs);
}
