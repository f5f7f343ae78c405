// Observer of what crosses the wire: tcpdump on the sending node's eth0 while the pod
// pings its peer. Stops as soon as the packets that settle the check have been seen.
// tcpdump is told to decode the lab's VXLAN port as VXLAN (-T vxlan): it knows only 4789
// by name (8472 would print as OTV), and the check must see the VNI whatever the port.
import type { CaptureOptions, ExecResult, Provider } from '../providers/types.js';
import type { EncapIntent } from '../plan/types.js';
import { parseTcpdump, isEchoRequest, isEchoReply, type CapturedPacket } from '../verify/parse/tcpdump.js';
import { safeBatch, cannotLook } from './device.js';
import { pingArgv } from './reach.js';
import { withSlot, hostLoad } from './limit.js';
import type { Observed } from './types.js';

export interface CaptureObservation {
  packets: CapturedPacket[];
  /** How long tcpdump ran (ms), for "nothing seen in N s". */
  durationMs: number;
  /** tcpdump's own complaint, when it failed to start. */
  error?: string;
}

// The wait ends as soon as tcpdump says it listens: the bound only matters on a host so
// slow (nested emulation, heavy load) that starting tcpdump takes seconds.
const LISTEN_WAIT_MS = 10_000;
const CAPTURE_LIMIT_MS = LISTEN_WAIT_MS + 3000;
const GRACE_AFTER_PING_MS = 250;

export const DEFAULT_VXLAN_PORT = 4789;

/** tcpdump arguments: VXLAN decoded on the lab's port. */
export function captureArgs(e: EncapIntent): string[] {
  return ['-n', '-e', '-l', '--immediate-mode', ...(e.kind === 'vxlan' ? ['-T', 'vxlan'] : []), captureFilter(e)];
}

/**
 * The probed pair's ICMP and the encapsulation between its two nodes, plus any packet on
 * the VXLAN port in the unencapsulated modes (which must see none). Narrow on purpose:
 * in a big lab the other pods' probes cross the same eth0 and would fill the capture's
 * packet limit before the probe's own echo request (seen on dc-256).
 */
export function captureFilter(e: EncapIntent): string {
  const port = e.port ?? DEFAULT_VXLAN_PORT;
  const pair = `icmp and host ${e.fromIp} and host ${e.toIp}`;
  const nodes = `host ${e.outerSrc} and host ${e.outerDst}`;
  if (e.kind === 'vxlan') return `(udp port ${port} and ${nodes}) or (${pair})`;
  if (e.kind === 'ipip') return `(ip proto 4 and ${nodes}) or (${pair}) or udp port ${port}`;
  return `udp port ${port} or (${pair})`;
}

/** Pure: has the capture seen enough to decide? */
export function settled(e: EncapIntent, packets: CapturedPacket[]): boolean {
  if (e.kind === 'none') {
    return packets.some((p) => isEchoRequest(p.outer, e.fromIp, e.toIp)) && packets.some((p) => isEchoReply(p.outer, e.toIp, e.fromIp));
  }
  return packets.some((p) => isEchoRequest(p.inner, e.fromIp, e.toIp));
}

/** How a capture ended: its result, or the error it was rejected with. */
export type CaptureEnd = { result: ExecResult } | { error: string };

/**
 * Starts a capture (`run` gets the onListening callback to pass on) and races tcpdump's
 * "listening" against the capture ending and `waitMs`: what came first, and the capture's
 * end (never rejected).
 */
export function listenFirst(run: (onListening: NonNullable<CaptureOptions['onListening']>) => Promise<ExecResult>, waitMs: number): { capture: Promise<CaptureEnd>; first: Promise<'listening' | 'ended' | 'timeout'> } {
  let listening!: () => void;
  const isListening = new Promise<void>((resolve) => { listening = resolve; });
  const capture = run(() => listening()).then((r): CaptureEnd => ({ result: r }), (err: unknown): CaptureEnd => ({ error: err instanceof Error ? err.message : String(err) }));
  const first = Promise.race([
    isListening.then(() => 'listening' as const),
    capture.then(() => 'ended' as const),
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), waitMs).unref()),
  ]);
  return { capture, first };
}

export async function observeEncapsulation(provider: Provider, lab: string, e: EncapIntent, signal?: AbortSignal, slow = 1): Promise<Observed<CaptureObservation>> {
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  signal?.addEventListener('abort', onOuterAbort);
  const lines: string[] = [];
  const started = Date.now();
  // --immediate-mode: each packet as it arrives, not after libpcap's 1 s buffer timeout
  // (which can outlast the grace after the ping).
  const { capture, first: listened } = listenFirst((onListening) => provider.capture(lab, e.node, e.iface, captureArgs(e), {
    durationMs: CAPTURE_LIMIT_MS * slow,
    packets: 100,
    signal: stop.signal,
    onListening,
    onLine: (line) => {
      lines.push(line);
      if (settled(e, parseTcpdump(lines.join('\n')))) stop.abort();
    },
  }), LISTEN_WAIT_MS * slow);
  try {
    const first = await listened;
    let pinged: Observed<never> | undefined;
    if (first !== 'ended') {
      // Ahead of the queue: tcpdump is listening (and its time limit running) meanwhile.
      const [r] = await withSlot(() => safeBatch(provider, lab, e.from, [pingArgv(e.toIp)], 5000 * slow), { first: true });
      pinged = cannotLook(r, `ping ${e.toIp}`);
      if (!stop.signal.aborted) setTimeout(() => stop.abort(), GRACE_AFTER_PING_MS).unref();
    }
    const end = await capture;
    const durationMs = Date.now() - started;
    const text = lines.length ? lines.join('\n') : 'result' in end ? end.result.stdout : '';
    const packets = parseTcpdump(text);
    // tcpdump that did not run, or a ping that could not be sent: nothing was looked at.
    if ('error' in end && !packets.length && !stop.signal.aborted) return { ok: false, unknown: true, error: `tcpdump: ${end.error}` };
    if ('result' in end && end.result.exitCode > 0 && !packets.length && !stop.signal.aborted) {
      return { ok: false, unknown: true, error: `tcpdump: ${end.result.stderr.trim().split('\n').pop() || `exit code ${end.result.exitCode}`}` };
    }
    if (pinged && !settled(e, packets)) return pinged;
    if (first === 'timeout' && !packets.length) return { ok: false, unknown: true, error: `tcpdump did not start listening in ${LISTEN_WAIT_MS * slow} ms (${hostLoad()})` };
    return { ok: true, value: { packets, durationMs } };
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', onOuterAbort);
  }
}
