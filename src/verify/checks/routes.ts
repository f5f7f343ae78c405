// route: each device has (or has not) the prefixes its mode demands, through the
// neighbours the fabric implies (a spine via the leaf that owns the prefix, a leaf via
// every spine: ECMP); a spine reaching a leaf's prefix through another leaf is a valley.
// Judged on the kernel's table, which is what forwards; FRR's RIB only explains a
// disagreement.
import type { Plan, RouteIntent } from '../../plan/types.js';
import { unknownCheck, type Check, type CheckNextHop } from '../types.js';
import type { Observations } from './observations.js';
import { parseCidr, intToIp } from '../../plan/ip.js';
import { describeRoute, describeNextHops, type KernelRoute } from '../parse/kernel-routes.js';
import { execHint, isSwitch, linkBetween } from '../where.js';

const canonicalOf = new Map<string, string>();
const canonical = (prefix: string) => {
  let v = canonicalOf.get(prefix);
  if (v === undefined) {
    const c = parseCidr(prefix);
    v = `${intToIp(c.base)}/${c.prefixLen}`;
    canonicalOf.set(prefix, v);
  }
  return v;
};

/** A route whose destination lies inside `outer` (the prefix itself included). */
function inside(outer: string, route: string): boolean {
  const o = parseCidr(outer);
  const r = parseCidr(route);
  return r.prefixLen >= o.prefixLen && r.base >= o.base && r.base < o.base + 2 ** (32 - o.prefixLen);
}

const hops = (n: number) => `${n} next hop${n === 1 ? '' : 's'}`;

function expectedText(r: RouteIntent): string {
  if (!r.present) return r.prefix.endsWith('/32') ? 'absent' : `absent (no route inside ${r.prefix})`;
  if (r.via) return `present, ${hops(r.via.length)} via ${r.via.map((v) => v.device).join(', ')}`;
  return r.nextHops === undefined ? 'present' : `present, ${hops(r.nextHops)}`;
}

/** Who holds each address of the lab (link ends), to name a next hop. */
export function addressOwners(plan: Plan): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of plan.links) for (const end of [l.a, l.b]) if (end.addr) out.set(end.addr.ip, end.device);
  for (const sw of plan.switches) if (sw.bridge) out.set(sw.bridge.addr.ip, sw.name);
  return out;
}

const hopText = (h: CheckNextHop) => `${h.device ?? 'an unknown device'} (${[h.ip, h.dev ? `dev ${h.dev}` : ''].filter(Boolean).join(' ')})`;

/** The kernel route's next hops, named. */
function namedHops(route: KernelRoute, owners: Map<string, string>): CheckNextHop[] {
  return route.nextHops.map((h) => ({
    ...(h.gateway ? { ip: h.gateway } : {}), ...(h.dev ? { dev: h.dev } : {}),
    ...(h.gateway && owners.has(h.gateway) ? { device: owners.get(h.gateway)! } : {}),
  }));
}

/** A device's kernel routes by prefix, built once per table (routes are looked up per intent: O(1), not a scan). */
const indexes = new WeakMap<KernelRoute[], Map<string, KernelRoute>>();
function byPrefix(table: KernelRoute[]): Map<string, KernelRoute> {
  let m = indexes.get(table);
  if (!m) {
    m = new Map();
    for (const x of table) if (!m.has(x.prefix)) m.set(x.prefix, x);
    indexes.set(table, m);
  }
  return m;
}

/** Most prefixes per switch whose AS paths verify asks for (a cut cable on a big fabric diverts many). */
export const MAX_DETOURS_PER_SWITCH = 8;

/**
 * Switch -> prefixes its kernel forwards through a neighbour the intent does not name:
 * verify asks FRR for their AS paths, to show the valley (pure: read from the kernel tables).
 */
export function routeDetours(plan: Plan, obs: Observations): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const switches = new Set(plan.switches.map((s) => s.name));
  for (const r of plan.intent.routes) {
    if (!r.present || !r.via || !switches.has(r.device)) continue;
    const table = obs.switches.get(r.device)?.kernel;
    if (!table?.ok) continue;
    const want = new Set(r.via.map((v) => v.ip));
    const route = byPrefix(table.value).get(canonical(r.prefix));
    if (!route || route.type !== 'unicast' || route.nextHops.every((h) => h.gateway && want.has(h.gateway))) continue;
    const list = out.get(r.device) ?? [];
    if (list.length < MAX_DETOURS_PER_SWITCH) out.set(r.device, [...list, canonical(r.prefix)]);
  }
  return out;
}

/** Next hops against the intended neighbours: pass, missing some, or through others (a valley on a spine). */
function judgeVia(plan: Plan, r: RouteIntent & { via: NonNullable<RouteIntent['via']> }, seen: CheckNextHop[], asPaths?: string[]): { ok: boolean; observed: string; valley?: CheckNextHop[] } {
  const want = new Set(r.via.map((v) => v.ip));
  const foreign = seen.filter((h) => !h.ip || !want.has(h.ip));
  const got = new Set(seen.map((h) => h.ip));
  const missing = r.via.filter((v) => !got.has(v.ip));
  const list = `${hops(seen.length)} via ${seen.map((h) => h.device ?? h.ip ?? h.dev).join(', ')}`;
  if (!foreign.length && !missing.length) return { ok: true, observed: `present, ${list}` };
  const spine = plan.switches.find((s) => s.name === r.device)?.kind === 'spine';
  const leaves = new Set(plan.switches.filter((s) => s.kind === 'leaf').map((s) => s.name));
  const valley = spine ? foreign.filter((h) => h.device && leaves.has(h.device)) : [];
  if (valley.length) {
    const path = asPaths?.length ? `, AS path ${asPaths.join(' / ')}` : '';
    return { ok: false, valley, observed: `valley path: via ${valley.map(hopText).join(', ')}${path}, not ${r.via.map((v) => v.device).join(', ')} (down to a leaf and up again through another spine)` };
  }
  const parts = [
    ...(foreign.length ? [`through ${foreign.map(hopText).join(', ')}, not an intended neighbour`] : []),
    ...(missing.length ? [`none via ${missing.map((v) => `${v.device} (${v.ip})`).join(', ')}`] : []),
  ];
  return { ok: false, observed: `present, ${hops(seen.length)} via ${seen.map(hopText).join(', ')}; ${parts.join('; ')}` };
}

/** What the check saw beyond the intent: the kernel's route, the leaves of a valley, or no route at all. */
interface Seen { kernel?: KernelRoute; valley?: CheckNextHop[]; absent?: boolean }

function routeHint(plan: Plan, r: RouteIntent, obs: Observations, { kernel, valley, absent }: Seen = {}): string {
  const sw = isSwitch(plan, r.device);
  const look = sw
    ? [execHint(plan.name, r.device, `vtysh -c 'show ip route ${r.prefix}'`), execHint(plan.name, r.device, `ip route show ${r.prefix}`)]
    : [execHint(plan.name, r.device, r.present ? `ip route show ${r.prefix}` : 'ip route')];
  const rib = obs.switches.get(r.device)?.rib;
  const ribHops = rib?.ok ? rib.value.get(canonical(r.prefix)) : undefined;
  const desync = !!kernel && ribHops !== undefined && ribHops !== kernel.nextHops.length;
  if (sw && r.present && !desync) look.push(`the BGP sessions of ${r.device}`);
  if (valley) {
    // The AS path shows the valley: the other leaf's AS, a spine's, the owner's.
    look.splice(0, 1, execHint(plan.name, r.device, `vtysh -c 'show bgp ipv4 unicast ${r.prefix}'`));
    const lost = (r.via ?? []).map((v) => linkBetween(plan, r.device, v.device)).filter(Boolean);
    if (lost.length) look.push(`the link ${lost.join(', ')}`);
  }
  // RFC 7938: a spine cut from the owning leaf has no other way, and that is the design.
  const spineAsn = plan.design?.spineAsn;
  const noValley = absent && spineAsn !== undefined && plan.switches.find((s) => s.name === r.device)?.kind === 'spine' && r.via?.length
    ? [`the spines share AS ${spineAsn}: ${r.device} drops any path through another leaf (it holds AS ${spineAsn}), so without its session to ${r.via.map((v) => v.device).join(', ')} the prefix is reached only through the other spines`]
    : [];
  const parts = [
    ...noValley,
    ...(valley ? [`${valley.map((h) => h.device).join(', ')} carries traffic between spines (a leaf as transit: RFC 7938 avoids it by giving every spine one AS, whose loop prevention drops such paths)`] : []),
    `why: ${r.why}`, `check ${look.slice(0, -1).join(', ')}${look.length > 1 ? ' and ' : ''}${look[look.length - 1]}`,
  ];
  if (desync) {
    parts.push(`FRR's RIB has ${hops(ribHops!)} but the kernel forwards over ${kernel!.nextHops.length}: zebra and the kernel are out of sync `
      + `(FRR 8.4 can drop a nexthop-group member after a link flap; \`no zebra nexthop kernel enable\` avoids it)`);
  }
  return parts.join('; ');
}

function checkOne(plan: Plan, r: RouteIntent, obs: Observations, owners: Map<string, string>): Check {
  const base = { kind: 'route' as const, subject: `${r.device} ${r.prefix}`, about: { device: r.device, prefix: r.prefix }, expected: expectedText(r) };
  const table = isSwitch(plan, r.device) ? obs.switches.get(r.device)?.kernel : obs.nodes.get(r.device)?.kernel;
  if (!table || (!table.ok && table.unknown)) return unknownCheck(base, table && !table.ok ? table.error : 'not observed', routeHint(plan, r, obs));
  if (!table.ok) {
    return { ...base, ok: false, observed: `cannot tell: ${table.error}`, hint: routeHint(plan, r, obs) };
  }
  const routes = table.value;
  if (!r.present) {
    const found = routes.filter((x) => inside(r.prefix, x.prefix));
    if (!found.length) return { ...base, ok: true, observed: 'absent' };
    const shown = found.slice(0, 3).map(describeRoute).join('; ') + (found.length > 3 ? `; and ${found.length - 3} more` : '');
    return { ...base, ok: false, observed: shown, hint: routeHint(plan, r, obs) };
  }
  const want = canonical(r.prefix);
  const route = byPrefix(routes).get(want);
  if (!route) return { ...base, ok: false, observed: 'absent', hint: routeHint(plan, r, obs, { absent: true }) };
  if (route.type !== 'unicast') return { ...base, ok: false, observed: route.type, hint: routeHint(plan, r, obs, { kernel: route }) };
  const nextHops = namedHops(route, owners);
  if (r.via) {
    const v = judgeVia(plan, { ...r, via: r.via }, nextHops, obs.asPaths?.get(r.device)?.get(want));
    return { ...base, ok: v.ok, observed: v.observed, nextHops, ...(v.ok ? {} : { hint: routeHint(plan, r, obs, { kernel: route, valley: v.valley }) }) };
  }
  const n = route.nextHops.length;
  if (r.nextHops === undefined || n === r.nextHops) {
    return { ...base, ok: true, observed: r.nextHops === undefined ? 'present' : `present, ${hops(n)}`, nextHops };
  }
  return { ...base, ok: false, observed: `present, ${hops(n)} (${describeNextHops(route)})`, nextHops, hint: routeHint(plan, r, obs, { kernel: route }) };
}

/** addressOwners, once per plan's links (convergence judges device by device, on copies of one plan). */
const ownersOf = new WeakMap<Plan['links'], Map<string, string>>();

export function routeChecks(plan: Plan, obs: Observations): Check[] {
  let owners = ownersOf.get(plan.links);
  if (!owners) ownersOf.set(plan.links, owners = addressOwners(plan));
  return plan.intent.routes.map((r) => checkOne(plan, r, obs, owners));
}
