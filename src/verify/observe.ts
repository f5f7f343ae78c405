// Observers: the only part of verify with side effects. Each asks a running device
// through the provider and returns parsed observations (or why it could not observe).
import type { Provider, ExecResult } from '../providers/types.js';
import { LabError, ExitCode } from '../errors.js';
import { splitJsonDocuments, parseBgpSummary, parseFrrRoutes, type BgpPeer } from './parse/frr.js';
import { parseBirdProtocols, type BirdBgpSession } from './parse/bird.js';
import { parseKernelRoutes, type KernelRoute } from './parse/kernel-routes.js';
import { parsePing, type PingResult } from './parse/ping.js';

/** A value observed, or the reason it could not be (shown as the check's observation). */
export type Observed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface SwitchObservation {
  bgp: Observed<BgpPeer[]>;
  /** FRR's RIB: installed next hops per selected prefix (to explain kernel mismatches). */
  rib: Observed<Map<string, number>>;
  kernel: Observed<KernelRoute[]>;
}

export interface NodeObservation {
  /** Absent when the node runs no BGP speaker in this mode. */
  bgp?: Observed<BirdBgpSession[]>;
  kernel: Observed<KernelRoute[]>;
}

const EXEC_TIMEOUT_MS = 5000;

export const FRR_QUERY = ['vtysh', '-c', 'show ip route json', '-c', 'show bgp summary json'];
export const BIRD_QUERY = ['birdc', 'show', 'protocols', 'all'];
export const KERNEL_ROUTES_QUERY = ['ip', '-j', 'route', 'show'];

/** Exec that turns unexpected failures into a result: one dead device must not hide the others. */
export async function safeExec(provider: Provider, lab: string, device: string, argv: string[], timeoutMs = EXEC_TIMEOUT_MS): Promise<ExecResult> {
  try {
    return await provider.exec(lab, device, argv, { timeoutMs });
  } catch (e) {
    // The lab itself is gone or the host lacks something: verify cannot go on.
    if (e instanceof LabError && (e.exitCode === ExitCode.notRunning || e.exitCode === ExitCode.hostLacks)) throw e;
    return { stdout: '', stderr: e instanceof Error ? e.message : String(e), exitCode: -1 };
  }
}

const firstLine = (r: ExecResult) =>
  (r.stderr.trim() || r.stdout.trim()).split('\n')[0] || `exit code ${r.exitCode}`;

function parsed<T>(r: ExecResult, parse: () => T): Observed<T> {
  try {
    return { ok: true, value: parse() };
  } catch {
    return { ok: false, error: firstLine(r) };
  }
}

/** Pure: FRR's two JSON documents (route table, then BGP summary) and the kernel routes. */
export function readSwitch(frr: ExecResult, kernel: ExecResult): SwitchObservation {
  const docs = (() => { try { return splitJsonDocuments(frr.stdout); } catch { return []; } })();
  const frrError = firstLine(frr);
  return {
    rib: docs.length >= 1 ? { ok: true, value: parseFrrRoutes(docs[0]) } : { ok: false, error: frrError },
    bgp: docs.length >= 2 ? { ok: true, value: parseBgpSummary(docs[1]) } : { ok: false, error: frrError },
    kernel: kernel.exitCode === 0 ? parsed(kernel, () => parseKernelRoutes(kernel.stdout)) : { ok: false, error: firstLine(kernel) },
  };
}

/** Pure: BIRD's protocols (when the node speaks BGP) and the kernel routes. */
export function readNode(bird: ExecResult | undefined, kernel: ExecResult): NodeObservation {
  return {
    ...(bird ? {
      bgp: bird.exitCode === 0 && /^BIRD /m.test(bird.stdout)
        ? { ok: true as const, value: parseBirdProtocols(bird.stdout) }
        : { ok: false as const, error: firstLine(bird) },
    } : {}),
    kernel: kernel.exitCode === 0 ? parsed(kernel, () => parseKernelRoutes(kernel.stdout)) : { ok: false, error: firstLine(kernel) },
  };
}

export async function observeSwitch(provider: Provider, lab: string, device: string): Promise<SwitchObservation> {
  const [frr, kernel] = await Promise.all([
    safeExec(provider, lab, device, FRR_QUERY),
    safeExec(provider, lab, device, KERNEL_ROUTES_QUERY),
  ]);
  return readSwitch(frr, kernel);
}

export async function observeNode(provider: Provider, lab: string, device: string, speaksBgp: boolean): Promise<NodeObservation> {
  const [bird, kernel] = await Promise.all([
    speaksBgp ? safeExec(provider, lab, device, BIRD_QUERY) : Promise.resolve(undefined),
    safeExec(provider, lab, device, KERNEL_ROUTES_QUERY),
  ]);
  return readNode(bird, kernel);
}

/** Two echo requests 50 ms apart (root may go below 0.2 s), one second for the last reply: quick, and one lost first packet (ARP) is tolerated. */
export const pingArgv = (ip: string) => ['ping', '-c', '2', '-i', '0.05', '-W', '1', '-n', ip];

export async function observePing(provider: Provider, lab: string, pod: string, ip: string): Promise<Observed<PingResult>> {
  const r = await safeExec(provider, lab, pod, pingArgv(ip));
  // ping exits 1 when nothing came back (still a valid observation), 2 on errors.
  if (r.exitCode === 0 || r.exitCode === 1) return { ok: true, value: parsePing(r.stdout) };
  return { ok: false, error: firstLine(r) };
}
