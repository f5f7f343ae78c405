// Waiting for convergence (what `lab up` does on every provider): observe the devices
// through this layer and judge them with verify's own pure session and route checks, so
// `up` and `verify` cannot disagree about what "converged" means. Each round re-observes
// only the devices that still have a check not passing, one exec per device.
import { LabError, ExitCode } from '../errors.js';
import type { Plan } from '../plan/types.js';
import { routeCounts, sessionPairs } from '../plan/intent.js';
import type { Provider } from '../providers/types.js';
import { sessionChecks } from '../verify/checks/bgp.js';
import { routeChecks } from '../verify/checks/routes.js';
import { emptyObservations } from '../verify/checks/observations.js';
import { observeSwitch, observeNode, observedDevices } from './device.js';

export interface ConvergeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Pause between rounds (ms). */
  pollMs?: number;
  /** Called when a condition first holds, with the time since the start (FABRIC_LAB_TRACE). */
  trace?: (line: string) => void;
}

/** Poll until every session is Established and every route is as intended; LabError (exit 1) naming what did not converge. Resolves with a summary. */
export async function waitForConvergence(plan: Plan, provider: Provider, opts: ConvergeOptions): Promise<string> {
  const started = Date.now();
  const obs = emptyObservations();
  const { switches, nodes } = observedDevices(plan);
  const bgpNode = new Map(nodes.map((n) => [n.name, n.bgp]));
  const isSwitch = new Set(switches);
  // Check i of sessionChecks/routeChecks is about intent i: its device.
  const devices = [...plan.intent.sessions.map((s) => s.speaker), ...plan.intent.routes.map((r) => r.device)];
  let pending = [...new Set(devices)].filter((d) => isSwitch.has(d) || bgpNode.has(d));
  const met = new Set<string>();
  for (;;) {
    opts.signal?.throwIfAborted();
    // Switches first: until every switch is as intended, a node (whose session is also
    // its leaf's, seen from the other end) is not asked again; a 1,024-node lab then costs
    // a few rounds of its 68 switches and one or two of its nodes, not a round of all.
    const switchesPending = pending.filter((d) => isSwitch.has(d));
    const round = switchesPending.length ? switchesPending : pending;
    const roundStarted = Date.now();
    await Promise.all(round.map(async (d) => {
      if (isSwitch.has(d)) obs.switches.set(d, await observeSwitch(provider, plan.name, d));
      else obs.nodes.set(d, await observeNode(provider, plan.name, d, bgpNode.get(d)!));
    }));
    opts.signal?.throwIfAborted(); // Ctrl-C wins over a poll that happened to succeed
    const checks = [...sessionChecks(plan, obs), ...routeChecks(plan, obs)];
    const wrong = checks.map((c, i) => ({ c, device: devices[i] })).filter(({ c }) => !c.ok);
    for (const c of checks) if (c.ok && !met.has(c.subject)) { met.add(c.subject); opts.trace?.(`${Date.now() - started} ms  ${c.kind} ${c.subject}`); }
    if (!wrong.length) return `${sessionPairs(plan.intent.sessions).length} sessions Established (both ends), ${routeCounts(plan.intent.routes).present} routes`;
    if (Date.now() - started > opts.timeoutMs) {
      const lines = wrong.slice(0, 20).map(({ c }) => `${c.kind} ${c.subject}: expected ${c.expected}, observed ${c.observed}`);
      if (wrong.length > 20) lines.push(`and ${wrong.length - 20} more`);
      throw new LabError(`lab ${plan.name} did not converge within ${Math.round(opts.timeoutMs / 1000)} s:\n  ${lines.join('\n  ')}`, ExitCode.verifyFailed);
    }
    pending = [...new Set(wrong.map((w) => w.device))].filter((d) => isSwitch.has(d) || bgpNode.has(d));
    // Rest as long as the round took (at least pollMs): watching costs at most half the
    // CPU the daemons need to converge, whatever the lab's size.
    await new Promise((r) => setTimeout(r, Math.max(opts.pollMs ?? 50, Date.now() - roundStarted)));
  }
}
