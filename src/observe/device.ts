// Device observers: what a switch or a node says about its BGP sessions and routes, read
// in ONE exec per device per round (provider.execBatch): FRR's RIB and BGP summary in one
// vtysh call, BIRD's protocols, the kernel's routes and interfaces (MTU, up/down).
import type { Provider, ExecResult } from '../providers/types.js';
import type { Plan } from '../plan/types.js';
import { LabError, ExitCode } from '../errors.js';
import { splitJsonDocuments, parseBgpSummary, parseFrrRoutes, parseBgpPrefixPaths } from '../verify/parse/frr.js';
import { parseBirdProtocols } from '../verify/parse/bird.js';
import { parseKernelRoutes } from '../verify/parse/kernel-routes.js';
import { withSlot, hostLoad } from './limit.js';
import type { Observed, SwitchObservation, NodeObservation, LinkStates } from './types.js';
import type { KernelRoute } from '../verify/parse/kernel-routes.js';

export const OBSERVE_TIMEOUT_MS = 5000;

// vtysh stops at the first command whose daemon is down, so the route table comes first.
export const FRR_QUERY = ['vtysh', '-c', 'show ip route json', '-c', 'show bgp summary json'];
/**
 * The sessions alone, for the convergence wait: its checks judge routes on the kernel's
 * table (FRR's RIB only explains a failure, which verify reads). A leaf of dc-256 prints
 * 470 KB of RIB JSON, 50 to 90 ms of zebra, vtysh and parsing, every round.
 */
export const FRR_SESSIONS_QUERY = ['vtysh', '-c', 'show bgp summary json'];
export const BIRD_QUERY = ['birdc', 'show', 'protocols', 'all'];
export const KERNEL_ROUTES_QUERY = ['ip', '-j', 'route', 'show'];
export const LINKS_QUERY = ['ip', '-j', 'link', 'show'];

/** execBatch that turns unexpected failures into results: one dead device must not hide the others. */
export async function safeBatch(provider: Provider, lab: string, device: string, commands: string[][], timeoutMs: number): Promise<ExecResult[]> {
  try {
    return await provider.execBatch(lab, device, commands, { timeoutMs });
  } catch (e) {
    // The lab itself is gone or the host lacks something: observation cannot go on.
    if (e instanceof LabError && (e.exitCode === ExitCode.notRunning || e.exitCode === ExitCode.hostLacks)) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    return commands.map(() => ({ stdout: '', stderr: msg, exitCode: -1 }));
  }
}

/** One command through safeBatch (for observers that need a single answer). */
export async function safeExec(provider: Provider, lab: string, device: string, argv: string[], timeoutMs = OBSERVE_TIMEOUT_MS): Promise<ExecResult> {
  const [r] = await withSlot(() => safeBatch(provider, lab, device, [argv], timeoutMs));
  return r;
}

const firstLine = (r: ExecResult) =>
  (r.stderr.trim() || r.stdout.trim()).split('\n')[0] || `exit code ${r.exitCode}`;

/** An exec that did not run to its end (-1: timed out, could not start): "could not look". */
export function cannotLook(r: ExecResult, what: string): Observed<never> | undefined {
  if (r.exitCode !== -1) return undefined;
  const why = r.stderr.trim().split('\n').pop() || 'the command did not finish';
  return { ok: false, unknown: true, error: `could not observe (\`${what}\`: ${why}; ${hostLoad()})` };
}

function parsed<T>(r: ExecResult, parse: () => T): Observed<T> {
  try {
    return { ok: true, value: parse() };
  } catch {
    return { ok: false, error: firstLine(r) };
  }
}

const kernelOf = (r: ExecResult) => cannotLook(r, KERNEL_ROUTES_QUERY.join(' '))
  ?? (r.exitCode === 0 ? parsed(r, () => parseKernelRoutes(r.stdout)) : { ok: false as const, error: firstLine(r) });

/** Pure: `ip -j link show` -> interface name -> MTU and up (administratively up with carrier). */
export function parseLinkStates(json: string): LinkStates {
  const rows = JSON.parse(json) as { ifname: string; mtu: number; flags?: string[] }[];
  return new Map(rows.map((l) => [l.ifname, { mtu: l.mtu, up: !!l.flags?.includes('UP') && !!l.flags.includes('LOWER_UP') }]));
}

export const linksOf = (r: ExecResult): Observed<LinkStates> => cannotLook(r, LINKS_QUERY.join(' '))
  ?? (r.exitCode === 0 ? parsed(r, () => parseLinkStates(r.stdout)) : { ok: false as const, error: firstLine(r) });

/** Pure: FRR_QUERY's two JSON documents (route table, then BGP summary), the kernel routes and interfaces. */
export function readSwitch(frr: ExecResult, kernel: ExecResult, links?: ExecResult): SwitchObservation {
  const lost = cannotLook(frr, 'vtysh');
  const docs = (() => { try { return splitJsonDocuments(frr.stdout); } catch { return []; } })();
  const frrError = lost ?? { ok: false as const, error: firstLine(frr) };
  return {
    rib: docs.length >= 1 ? { ok: true, value: parseFrrRoutes(docs[0]) } : frrError,
    bgp: docs.length >= 2 ? { ok: true, value: parseBgpSummary(docs[1]) } : frrError,
    kernel: kernelOf(kernel),
    ...(links ? { links: linksOf(links) } : {}),
  };
}

/** Pure: BIRD's protocols (when the node speaks BGP), the kernel routes and interfaces. */
export function readNode(bird: ExecResult | undefined, kernel: ExecResult, links?: ExecResult): NodeObservation {
  return {
    ...(bird ? {
      bgp: cannotLook(bird, 'birdc') ?? (bird.exitCode === 0 && /^BIRD /m.test(bird.stdout)
        ? { ok: true as const, value: parseBirdProtocols(bird.stdout) }
        : { ok: false as const, error: firstLine(bird) }),
    } : {}),
    kernel: kernelOf(kernel),
    ...(links ? { links: linksOf(links) } : {}),
  };
}

/** What verify reads of every switch: sessions, kernel routes and interfaces (its RIB only where a route check fails: observeRib). */
export const SWITCH_QUERY = [FRR_SESSIONS_QUERY, KERNEL_ROUTES_QUERY, LINKS_QUERY];

export async function observeSwitch(provider: Provider, lab: string, device: string, timeoutMs = OBSERVE_TIMEOUT_MS): Promise<SwitchObservation> {
  const [frr, kernel, links] = await withSlot(() => safeBatch(provider, lab, device, SWITCH_QUERY, timeoutMs));
  return { bgp: readSessions(frr), kernel: kernelOf(kernel), links: linksOf(links) };
}

/** FRR's RIB (`show ip route json`): a dc-256 leaf prints 470 KB of it, a dc-1024 spine 1.7 MB. */
export const RIB_QUERY = ['vtysh', '-c', 'show ip route json'];

export async function observeRib(provider: Provider, lab: string, device: string, timeoutMs = OBSERVE_TIMEOUT_MS): Promise<Observed<Map<string, number>>> {
  const [frr] = await withSlot(() => safeBatch(provider, lab, device, [RIB_QUERY], timeoutMs));
  return readVtyshDoc(frr, parseFrrRoutes);
}

/** Pure: one vtysh command's JSON document, parsed; why not, when vtysh did not answer. */
function readVtyshDoc<T>(frr: ExecResult, parse: (doc: unknown) => T): Observed<T> {
  const lost = cannotLook(frr, 'vtysh');
  if (lost) return lost;
  try {
    const [doc] = splitJsonDocuments(frr.stdout);
    if (doc !== undefined) return { ok: true, value: parse(doc) };
  } catch { /* a half-printed answer */ }
  return { ok: false, error: firstLine(frr) };
}

/** Pure: `show bgp summary json` -> the sessions. */
export const readSessions = (frr: ExecResult): SwitchObservation['bgp'] => readVtyshDoc(frr, parseBgpSummary);

/** A switch's BGP sessions alone (`show bgp summary json`), for the convergence wait. */
export async function observeSwitchBgp(provider: Provider, lab: string, device: string, timeoutMs = OBSERVE_TIMEOUT_MS): Promise<SwitchObservation['bgp']> {
  const [frr] = await withSlot(() => safeBatch(provider, lab, device, [FRR_SESSIONS_QUERY], timeoutMs));
  return readSessions(frr);
}

/** The kernel's routes alone (the cheapest look: 5 ms for 300 routes), for the convergence wait. */
export async function observeKernel(provider: Provider, lab: string, device: string, timeoutMs = OBSERVE_TIMEOUT_MS): Promise<Observed<KernelRoute[]>> {
  const [kernel] = await withSlot(() => safeBatch(provider, lab, device, [KERNEL_ROUTES_QUERY], timeoutMs));
  return kernelOf(kernel);
}

/** A node's BIRD protocols, kernel routes and (unless `links` is false: convergence) interfaces. */
export async function observeNode(provider: Provider, lab: string, device: string, speaksBgp: boolean, timeoutMs = OBSERVE_TIMEOUT_MS, links = true): Promise<NodeObservation> {
  const bird = speaksBgp && provider.capabilities.bird;
  const rs = await withSlot(() => safeBatch(provider, lab, device, [...(bird ? [BIRD_QUERY] : []), KERNEL_ROUTES_QUERY, ...(links ? [LINKS_QUERY] : [])], timeoutMs));
  return bird ? readNode(rs[0], rs[1], rs[2]) : readNode(undefined, rs[0], rs[1]);
}

/** FRR's BGP paths of some prefixes, in one vtysh call. */
export const bgpPrefixQuery = (prefixes: string[]) => ['vtysh', ...prefixes.flatMap((p) => ['-c', `show bgp ipv4 unicast ${p} json`])];

/** prefix -> the AS paths FRR forwards it over (best first); empty when vtysh could not answer. */
export async function observeAsPaths(provider: Provider, lab: string, device: string, prefixes: string[], timeoutMs = OBSERVE_TIMEOUT_MS): Promise<Map<string, string[]>> {
  const r = await safeExec(provider, lab, device, bgpPrefixQuery(prefixes), timeoutMs);
  const out = new Map<string, string[]>();
  if (r.exitCode !== 0) return out;
  try {
    for (const doc of splitJsonDocuments(r.stdout)) {
      const seen = parseBgpPrefixPaths(doc);
      if (seen) out.set(seen.prefix, seen.asPaths);
    }
  } catch { /* a half-printed answer: no AS paths to show */ }
  return out;
}

/** The devices whose sessions or routes the intent speaks of. */
export function observedDevices(plan: Plan): { switches: string[]; nodes: Array<{ name: string; bgp: boolean }> } {
  const routed = new Set(plan.intent.routes.map((r) => r.device));
  return {
    switches: plan.switches.filter((s) => s.bgp || routed.has(s.name)).map((s) => s.name),
    nodes: plan.nodes.filter((n) => n.bgp || routed.has(n.name)).map((n) => ({ name: n.name, bgp: !!n.bgp })),
  };
}
