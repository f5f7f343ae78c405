// Reachability observers: from each source pod, ONE exec probes all its targets (fping,
// one process for many targets; a ping per target where the provider has no fping) and
// reads reply TTLs with one `ping` per TTL probe (fping 5.1 prints no TTLs).
import type { Provider, ExecResult } from '../providers/types.js';
import { parsePing } from '../verify/parse/ping.js';
import { withSlot } from './limit.js';
import { safeBatch, cannotLook, linksOf, LINKS_QUERY, OBSERVE_TIMEOUT_MS } from './device.js';
import type { Observed, ReachObservation } from './types.js';

/** Two echo requests 50 ms apart, one second for the last reply: one lost first packet (ARP) is tolerated. */
export const pingArgv = (ip: string) => ['ping', '-c', '2', '-i', '0.05', '-W', '1', '-n', ip];

/**
 * fping: two probes per target (-c 2), 1 ms between any two sends (-i 1), 10 ms between
 * probes to one target (-p 10), one second for a reply (-t 1000), summary only (-q, on
 * stderr: `10.64.0.2 : xmt/rcv/%loss = 2/2/0%, ...`).
 */
export const fpingArgv = (ips: string[]) => ['fping', '-q', '-c', '2', '-i', '1', '-p', '10', '-t', '1000', ...ips];

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
export function reachCommands(useFping: boolean, targets: string[], ttlTargets: string[]): string[][] {
  return useFping ? [fpingArgv(targets), ...ttlTargets.map(pingArgv)] : targets.map(pingArgv);
}

export async function observeReach(provider: Provider, lab: string, pod: string, targets: string[], ttlTargets: string[], timeoutMs = OBSERVE_TIMEOUT_MS): Promise<Observed<ReachObservation>> {
  const useFping = provider.capabilities.fping;
  const commands = [...reachCommands(useFping, targets, ttlTargets), LINKS_QUERY];
  // Without fping the pings run one after the other inside the exec: give each its second.
  const budget = useFping ? timeoutMs : Math.max(timeoutMs, (commands.length - 1) * 1500);
  const rs = await withSlot(() => safeBatch(provider, lab, pod, commands, budget));
  return readReach(useFping, targets, ttlTargets, rs);
}
