// verify: observe a running lab through its provider and compare with the plan's intent
// (DESIGN section 6). Observers run in parallel; the checks are pure functions of what
// they saw.
import type { Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import { makeReport, type Report } from './types.js';
import { observeSwitch, observeNode, observePing } from './observe.js';
import { observeEncapsulation } from './observe-capture.js';
import { emptyObservations, pingKey, type Observations } from './checks/observations.js';
import { sessionChecks, extraSessionChecks } from './checks/bgp.js';
import { routeChecks } from './checks/routes.js';
import { pingChecks } from './checks/ping.js';
import { encapsulationChecks } from './checks/encapsulation.js';

export type { Report, Check, CheckKind } from './types.js';
export { formatReport } from './format.js';

/** Pure: every check of the intent against what was observed. */
export function checkAll(plan: Plan, obs: Observations): Report {
  return makeReport(plan.name, [
    ...sessionChecks(plan, obs),
    ...extraSessionChecks(plan, obs),
    ...routeChecks(plan, obs),
    ...pingChecks(plan, obs),
    ...encapsulationChecks(plan, obs),
  ]);
}

export async function observeLab(plan: Plan, provider: Provider, signal?: AbortSignal): Promise<Observations> {
  const lab = plan.name;
  const obs = emptyObservations();
  const routed = new Set(plan.intent.routes.map((r) => r.device));
  const switches = plan.switches.filter((s) => s.bgp || routed.has(s.name));
  const nodes = plan.nodes.filter((n) => n.bgp || routed.has(n.name));
  const e = plan.intent.encapsulation;
  await Promise.all([
    ...switches.map(async (s) => { obs.switches.set(s.name, await observeSwitch(provider, lab, s.name)); }),
    ...nodes.map(async (n) => { obs.nodes.set(n.name, await observeNode(provider, lab, n.name, !!n.bgp)); }),
    ...plan.intent.pings.map(async (p) => { obs.pings.set(pingKey(p.from, p.toIp), await observePing(provider, lab, p.from, p.toIp)); }),
    ...(e ? [(async () => { obs.capture = await observeEncapsulation(provider, lab, e, signal); })()] : []),
  ]);
  return obs;
}

export async function verify(plan: Plan, provider: Provider, opts: { signal?: AbortSignal } = {}): Promise<Report> {
  opts.signal?.throwIfAborted();
  const obs = await observeLab(plan, provider, opts.signal);
  opts.signal?.throwIfAborted();
  return checkAll(plan, obs);
}
