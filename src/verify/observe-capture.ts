// Observer of what crosses the wire: tcpdump on the sending node's eth0 while the pod
// pings its peer. Stops as soon as the packets that settle the check have been seen.
import type { Provider } from '../providers/types.js';
import type { EncapIntent } from '../plan/types.js';
import { parseTcpdump, isEchoRequest, isEchoReply, type CapturedPacket } from './parse/tcpdump.js';
import { safeExec, pingArgv, type Observed } from './observe.js';

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

export function captureFilter(e: EncapIntent): string {
  const port = e.port ?? DEFAULT_VXLAN_PORT;
  return e.kind === 'ipip' ? `ip proto 4 or icmp or udp port ${port}` : `udp port ${port} or icmp`;
}

/** Pure: has the capture seen enough to decide? */
export function settled(e: EncapIntent, packets: CapturedPacket[]): boolean {
  if (e.kind === 'none') {
    return packets.some((p) => isEchoRequest(p.outer, e.fromIp, e.toIp)) && packets.some((p) => isEchoReply(p.outer, e.toIp, e.fromIp));
  }
  return packets.some((p) => isEchoRequest(p.inner, e.fromIp, e.toIp));
}

export async function observeEncapsulation(provider: Provider, lab: string, e: EncapIntent, signal?: AbortSignal): Promise<Observed<CaptureObservation>> {
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort();
  signal?.addEventListener('abort', onOuterAbort);
  const lines: string[] = [];
  let listening!: () => void;
  const isListening = new Promise<void>((resolve) => { listening = resolve; });
  const started = Date.now();
  // --immediate-mode: each packet as it arrives, not after libpcap's 1 s buffer timeout
  // (which can outlast the grace after the ping).
  const args = ['-n', '-e', '-l', '--immediate-mode', captureFilter(e)];
  const capture = provider.capture(lab, e.node, e.iface, args, {
    durationMs: CAPTURE_LIMIT_MS,
    packets: 100,
    signal: stop.signal,
    onListening: () => listening(),
    onLine: (line) => {
      lines.push(line);
      if (settled(e, parseTcpdump(lines.join('\n')))) stop.abort();
    },
  }).then((r) => ({ result: r }), (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) }));
  try {
    const first = await Promise.race([
      isListening.then(() => 'listening' as const),
      capture.then(() => 'ended' as const),
      new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), LISTEN_WAIT_MS).unref()),
    ]);
    if (first !== 'ended') {
      await safeExec(provider, lab, e.from, pingArgv(e.toIp));
      if (!stop.signal.aborted) setTimeout(() => stop.abort(), GRACE_AFTER_PING_MS).unref();
    }
    const end = await capture;
    const durationMs = Date.now() - started;
    const text = lines.length ? lines.join('\n') : 'result' in end ? end.result.stdout : '';
    const packets = parseTcpdump(text);
    if ('error' in end && !packets.length && !stop.signal.aborted) return { ok: false, error: end.error };
    if ('result' in end && end.result.exitCode > 0 && !packets.length && !stop.signal.aborted) {
      return { ok: false, error: end.result.stderr.trim().split('\n').pop() || `tcpdump exit code ${end.result.exitCode}` };
    }
    return { ok: true, value: { packets, durationMs } };
  } finally {
    stop.abort();
    signal?.removeEventListener('abort', onOuterAbort);
  }
}
