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
import { observeKernel, observeSwitchBgp, observeNode, observedDevices, OBSERVE_TIMEOUT_MS } from './device.js';
import type { Check } from '../verify/types.js';

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
  // Each device's intents, judged alone: a session check reads its speaker, a route check
  // its device (both pure over the plan they get), so a round judges only its devices.
  const sessionsOf = groupBy(plan.intent.sessions, (x) => x.speaker);
  const routesOf = groupBy(plan.intent.routes, (x) => x.device);
  const judgeSessions = (d: string) => sessionChecks({ ...plan, intent: { ...plan.intent, sessions: sessionsOf.get(d) ?? [] } }, obs);
  const judgeRoutes = (d: string) => routeChecks({ ...plan, intent: { ...plan.intent, routes: routesOf.get(d) ?? [] } }, obs);
  const observed = (d: string) => isSwitch.has(d) || bgpNode.has(d);
  // Device -> its checks not passing yet; every device starts there.
  const wrong = new Map([...new Set([...sessionsOf.keys(), ...routesOf.keys()])].filter(observed).map((d) => [d, [] as Check[]]));
  const met = new Set<string>();
  const notYet = { ok: false as const, error: 'not read yet: its routes are not as intended yet' };
  for (;;) {
    opts.signal?.throwIfAborted();
    // Switches first: until every switch is as intended, a node (whose session is also
    // its leaf's, seen from the other end) is not asked again; a 1,024-node lab then costs
    // a few rounds of its 68 switches and one or two of its nodes, not a round of all.
    const pending = [...wrong.keys()];
    const switchesPending = pending.filter((d) => isSwitch.has(d));
    const round = switchesPending.length ? switchesPending : pending;
    const roundStarted = Date.now();
    // The last round before giving up asks every device for its sessions too, so the
    // failure names what is wrong (a dead bgpd), not only the routes it left missing.
    const last = Date.now() - started > opts.timeoutMs;
    // Each device's route checks, judged as soon as its kernel's routes are in.
    const routes = new Map<string, Check[]>();
    await Promise.all(round.map(async (d) => {
      if (!isSwitch.has(d)) {
        // Nodes are asked once the switches are as intended: BIRD and the kernel in one exec.
        obs.nodes.set(d, await observeNode(provider, plan.name, d, bgpNode.get(d)!, OBSERVE_TIMEOUT_MS, false));
        routes.set(d, judgeRoutes(d));
        return;
      }
      // A switch: the kernel's routes first (one `ip -j route`, a few ms); vtysh is asked
      // for the sessions only once those routes are as intended, which they cannot be
      // before the sessions are up.
      obs.switches.set(d, { bgp: obs.switches.get(d)?.bgp ?? notYet, kernel: await observeKernel(provider, plan.name, d) });
      routes.set(d, judgeRoutes(d));
      if (last || routes.get(d)!.every((c) => c.ok)) obs.switches.set(d, { ...obs.switches.get(d)!, bgp: await observeSwitchBgp(provider, plan.name, d) });
    }));
    opts.trace?.(`${Date.now() - started} ms  round of ${round.length} devices took ${Date.now() - roundStarted} ms`);
    opts.signal?.throwIfAborted(); // Ctrl-C wins over a poll that happened to succeed
    for (const d of round) {
      const checks = [...judgeSessions(d), ...routes.get(d)!];
      if (opts.trace) for (const c of checks) if (c.ok && !met.has(c.subject)) { met.add(c.subject); opts.trace(`${Date.now() - started} ms  ${c.kind} ${c.subject}`); }
      const failing = checks.filter((c) => !c.ok);
      if (failing.length) wrong.set(d, failing); else wrong.delete(d);
    }
    if (!wrong.size) return `${sessionPairs(plan.intent.sessions).length} sessions Established (both ends), ${routeCounts(plan.intent.routes).present} routes`;
    if (last) {
      const all = [...wrong.values()].flat().sort((a, b) => Number(a.kind !== 'bgp-session') - Number(b.kind !== 'bgp-session'));
      const lines = all.slice(0, 20).map((c) => `${c.kind} ${c.subject}: expected ${c.expected}, observed ${c.observed}`);
      if (all.length > 20) lines.push(`and ${all.length - 20} more`);
      throw new LabError(`lab ${plan.name} did not converge within ${Math.round(opts.timeoutMs / 1000)} s:\n  ${lines.join('\n  ')}`, ExitCode.verifyFailed);
    }
    // Rest as long as the round took, at least pollMs and at most half a second: a round
    // is mostly `ip -j route` (cheap), and its wall time under load is the daemons' and
    // the dataplane's CPU, not its own.
    await new Promise((r) => setTimeout(r, Math.max(opts.pollMs ?? 50, Math.min(Date.now() - roundStarted, 500))));
  }
}

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const x of xs) {
    const list = out.get(key(x));
    if (list) list.push(x); else out.set(key(x), [x]);
  }
  return out;
}
