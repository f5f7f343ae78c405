// Waiting for convergence on real conditions: every session of the intent Established
// (FRR's JSON, BIRD's protocol table), every expected route installed with its next
// hops (switches: zebra's RIB; nodes: the kernel). Bounded; on timeout the error names
// what did not converge.
import { execa } from 'execa';
import { LabError, ExitCode } from '../../errors.js';
import type { Plan } from '../../plan/types.js';
import { birdProtocolName } from './bird.js';
import { birdSocket, namespaceOf } from './names.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One condition on one device; `check` returns undefined when it holds, else what is wrong. */
interface Condition { device: string; what: string; check: (obs: Observation) => string | undefined }

interface Observation {
  /** FRR: peer IP -> state. BIRD: protocol name -> state/info. */
  sessions: Map<string, string>;
  /** prefix -> number of installed next hops. */
  routes: Map<string, number>;
}

type Observer = (device: string) => Promise<Observation>;

async function frrObservation(ns: string): Promise<Observation> {
  const obs: Observation = { sessions: new Map(), routes: new Map() };
  // One vtysh for both: it prints one JSON document per command, each starting at column 0.
  const r = await execa('vtysh', ['-N', ns, '-c', 'show bgp summary json', '-c', 'show ip route json'], { reject: false });
  const [summary, rib] = r.stdout.split(/\n(?=\{)/);
  try {
    const peers = JSON.parse(summary)?.ipv4Unicast?.peers ?? {};
    for (const [ip, p] of Object.entries<{ state?: string }>(peers)) obs.sessions.set(ip, p.state ?? 'unknown');
  } catch {
    // bgpd not answering yet
  }
  try {
    const routes = JSON.parse(rib ?? '{}');
    for (const [prefix, entries] of Object.entries<Array<{ selected?: boolean; installed?: boolean; nexthops?: Array<{ fib?: boolean }> }>>(routes)) {
      const best = entries.find((e) => e.selected && e.installed);
      if (best) obs.routes.set(prefix, (best.nexthops ?? []).filter((n) => n.fib).length || 1);
    }
  } catch {
    // zebra not answering yet
  }
  return obs;
}

async function kernelObservation(ns: string, socket: string | undefined): Promise<Observation> {
  const obs: Observation = { sessions: new Map(), routes: new Map() };
  const [protocols, routes] = await Promise.all([
    socket ? execa('birdc', ['-s', socket, 'show', 'protocols'], { reject: false }) : undefined,
    execa('ip', ['-n', ns, '-j', 'route', 'show'], { reject: false }),
  ]);
  for (const line of protocols?.stdout.split('\n') ?? []) {
    const cols = line.trim().split(/\s+/);
    // Name Proto Table State Since Info: the BGP state is in Info ("Established", "Active ...").
    if (cols[1] === 'BGP') obs.sessions.set(cols[0], cols.slice(5).join(' ') || cols[3]);
  }
  try {
    for (const r of JSON.parse(routes.stdout) as Array<{ dst: string; type?: string; nexthops?: unknown[] }>) {
      if (r.type && r.type !== 'unicast') continue;
      const dst = r.dst === 'default' ? '0.0.0.0/0' : r.dst.includes('/') ? r.dst : `${r.dst}/32`;
      obs.routes.set(dst, r.nexthops?.length ?? 1);
    }
  } catch {
    // no answer
  }
  return obs;
}

function conditions(plan: Plan): Condition[] {
  const switches = new Set(plan.switches.filter((s) => s.bgp).map((s) => s.name));
  const birdNodes = new Set(plan.nodes.filter((n) => n.bgp).map((n) => n.name));
  const out: Condition[] = [];
  for (const s of plan.intent.sessions) {
    const key = switches.has(s.speaker) ? s.peerIp : birdNodes.has(s.speaker) ? birdProtocolName(plan, s.peerIp, s.peer) : undefined;
    if (!key) continue;
    out.push({
      device: s.speaker,
      what: `session ${s.speaker} -> ${s.peer} (${s.peerIp})`,
      check: (o) => {
        const state = o.sessions.get(key);
        return state?.startsWith('Established') ? undefined : state ?? 'not configured';
      },
    });
  }
  const nodeNames = new Set(plan.nodes.map((n) => n.name));
  const route = (device: string, prefix: string, nextHops?: number): Condition => ({
    device,
    what: `route ${prefix} on ${device}${nextHops ? ` (${nextHops} next hops)` : ''}`,
    check: (o) => {
      const n = o.routes.get(prefix);
      if (n === undefined) return 'absent';
      return nextHops && n < nextHops ? `${n} of ${nextHops} next hops` : undefined;
    },
  });
  for (const r of plan.intent.routes) {
    if (r.present && (switches.has(r.device) || nodeNames.has(r.device))) out.push(route(r.device, r.prefix, r.nextHops));
  }
  return out;
}

/** Poll until every condition holds; LabError (exit 1) naming what did not converge. */
export async function waitForConvergence(plan: Plan, timeoutMs: number, signal?: AbortSignal, trace?: (line: string) => void): Promise<void> {
  const started = Date.now();
  let pending = conditions(plan);
  const switches = new Set(plan.switches.map((s) => s.name));
  const birdNodes = new Set(plan.nodes.filter((n) => n.bgp).map((n) => n.name));
  const observe: Observer = (device) => {
    const ns = namespaceOf(plan.name, device);
    if (switches.has(device)) return frrObservation(ns);
    return kernelObservation(ns, birdNodes.has(device) ? birdSocket(plan.name, device) : undefined);
  };
  const deadline = Date.now() + timeoutMs;
  let problems: string[] = [];
  while (pending.length) {
    signal?.throwIfAborted();
    const devices = [...new Set(pending.map((c) => c.device))];
    const observations = new Map(await Promise.all(devices.map(async (d) => [d, await observe(d)] as const)));
    signal?.throwIfAborted(); // Ctrl-C wins over a poll that happened to succeed
    problems = [];
    pending = pending.filter((c) => {
      const wrong = c.check(observations.get(c.device)!);
      if (wrong) problems.push(`${c.what}: ${wrong}`);
      else trace?.(`${Date.now() - started} ms  ${c.what}`);
      return wrong !== undefined;
    });
    if (!pending.length) return;
    if (Date.now() > deadline) {
      throw new LabError(`lab ${plan.name} did not converge within ${Math.round(timeoutMs / 1000)} s:\n  ${problems.join('\n  ')}`, ExitCode.verifyFailed);
    }
    await sleep(50); // a poll costs a few ms of vtysh/ip per pending device
  }
}
