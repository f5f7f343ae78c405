// Reachability observers: from each source pod, ONE exec probes all its targets (fping,
// one process for many targets; a ping per target where the provider has no fping) and
// reads reply TTLs with one `ping` per TTL probe (fping 5.1 prints no TTLs).
import type { Provider, ExecResult } from '../providers/types.js';
import { parsePing } from '../verify/parse/ping.js';
import { withProbeSlot, withWaitSlot } from './limit.js';
import { safeBatch, cannotLook, linksOf, LINKS_QUERY, OBSERVE_TIMEOUT_MS } from './device.js';
import type { Observed, ReachObservation } from './types.js';

/** Two echo requests 10 ms apart (root may go below 0.2 s), one second for the last reply: one lost first packet (ARP) is tolerated. */
export const pingArgv = (ip: string) => ['ping', '-c', '2', '-i', '0.01', '-W', '1', '-n', ip];

/**
 * fping: two probes per target (-c 2), one second for a reply (-t 1000), summary only
 * (-q, on stderr: `10.64.0.2 : xmt/rcv/%loss = 2/2/0%, ...`). Fast pacing (the first
 * look): no pause between sends to different targets (-i 0) and 5 ms between the probes
 * to one target (-p 5): 63 targets in about 30 ms instead of 170 at -i 1. Careful pacing
 * (the second look at targets that did not answer, before they are judged): three probes,
 * 1 ms and 20 ms apart, three seconds for a reply.
 */
export function fpingArgv(ips: string[], careful = false): string[] {
  return careful
    ? ['fping', '-q', '-c', '3', '-i', '1', '-p', '20', '-t', '3000', ...ips]
    : ['fping', '-q', '-c', '2', '-i', '0', '-p', '5', '-t', '1000', ...ips];
}

/** Pure: fping -q -c summaries. fping exits 1 when some target did not answer: still an answer. */
export function parseFping(text: string): Map<string, { sent: number; received: number }> {
  const out = new Map<string, { sent: number; received: number }>();
  for (const m of text.matchAll(/^(\S+)\s*: xmt\/rcv\/%loss = (\d+)\/(\d+)\//gm)) out.set(m[1], { sent: Number(m[2]), received: Number(m[3]) });
  return out;
}

const firstLine = (r: ExecResult) => (r.stderr.trim() || r.stdout.trim()).split('\n')[0] || `exit code ${r.exitCode}`;

/**
 * Pure: the batch's answers (fping first when used, then one ping per TTL probe, or one
 * ping per target), and the pod's interfaces when the batch ended with LINKS_QUERY.
 */
export function readReach(useFping: boolean, targets: string[], ttlTargets: string[], rs: ExecResult[]): Observed<ReachObservation> {
  const probes = reachCommands(useFping, targets, ttlTargets).length;
  const links = rs.length > probes ? linksOf(rs[probes]) : undefined;
  const replies = new Map<string, { sent: number; received: number }>();
  const ttls = new Map<string, number[]>();
  let pings: ExecResult[] = rs;
  let pingIps = targets;
  if (useFping) {
    const f = rs[0];
    const lost = cannotLook(f, 'fping');
    if (lost) return lost;
    // 0 all answered, 1 some did not; 2 and up: fping could not run as asked.
    if (f.exitCode > 1) return { ok: false, error: `fping: ${firstLine(f)}` };
    const seen = parseFping(f.stderr);
    for (const ip of targets) replies.set(ip, seen.get(ip) ?? { sent: 0, received: 0 });
    pings = rs.slice(1);
    pingIps = ttlTargets;
  }
  for (let i = 0; i < pingIps.length; i++) {
    const r = pings[i];
    const lost = cannotLook(r, `ping ${pingIps[i]}`);
    if (lost) return lost;
    // ping exits 1 when nothing came back (still a valid observation), 2 on errors.
    if (r.exitCode > 1) return { ok: false, error: `ping ${pingIps[i]}: ${firstLine(r)}` };
    const p = parsePing(r.stdout);
    if (!useFping) replies.set(pingIps[i], { sent: p.sent, received: p.received });
    if (ttlTargets.includes(pingIps[i])) ttls.set(pingIps[i], p.ttls);
  }
  return { ok: true, value: { replies, ttls, ...(links ? { links } : {}) } };
}

/** The probes one source pod runs (exported for record/replay tests); observeReach adds LINKS_QUERY. */
export function reachCommands(useFping: boolean, targets: string[], ttlTargets: string[], careful = false): string[][] {
  return useFping ? [fpingArgv(targets, careful), ...ttlTargets.map(pingArgv)] : targets.map(pingArgv);
}

/**
 * From one pod, one exec. `careful`: the second look at targets that gave no reply
 * (slower fping pacing), so a reply lost to a burst is not called a fault. `waits`: some
 * target must not answer (NetworkPolicy), so the probe sleeps out fping's timeout: it
 * takes a slot of the larger waiting pool.
 */
export async function observeReach(provider: Provider, lab: string, pod: string, targets: string[], ttlTargets: string[], timeoutMs = OBSERVE_TIMEOUT_MS, careful = false, waits = false): Promise<Observed<ReachObservation>> {
  const useFping = provider.capabilities.fping;
  const commands = [...reachCommands(useFping, targets, ttlTargets, careful), LINKS_QUERY];
  // Without fping the pings run one after the other inside the exec: give each its second.
  const budget = useFping ? timeoutMs : Math.max(timeoutMs, (commands.length - 1) * 1500);
  const rs = await (waits ? withWaitSlot : withProbeSlot)(() => safeBatch(provider, lab, pod, commands, budget));
  return readReach(useFping, targets, ttlTargets, rs);
}
