// route: each device has (or has not) the prefixes its mode demands, through the
// neighbours the fabric implies (a spine via the leaf that owns the prefix, a leaf via
// every spine: ECMP); a spine reaching a leaf's prefix through another leaf is a valley.
// Judged on the kernel's table, which is what forwards; FRR's RIB only explains a
// disagreement.
import type { Plan, RouteIntent } from '../../plan/types.js';
import { unknownCheck, type Check, type CheckNextHop } from '../types.js';
import type { Observations } from './observations.js';
import { parseCidr } from '../../plan/ip.js';
import { describeRoute, describeNextHops, type KernelRoute } from '../parse/kernel-routes.js';
import { execHint, linkBetween } from '../where.js';

const hopsText = ['0 next hops', '1 next hop'];
const hops = (n: number) => hopsText[n] ??= `${n} next hop${n === 1 ? '' : 's'}`;

function expectedText(r: RouteIntent): string {
  if (!r.present) return r.prefix.endsWith('/32') ? 'absent' : `absent (no route inside ${r.prefix})`;
  if (r.via) return `present, ${hops(r.via.length)} via ${r.via.map((v) => v.device).join(', ')}`;
  return r.nextHops === undefined ? 'present' : `present, ${hops(r.nextHops)}`;
}

/** An intent's texts, made once per intent and plan: its checks are judged again every convergence round and by verify. */
interface IntentTexts {
  subject: string;
  expected: string;
  /** The prefix as the kernel prints it (canonical). */
  want: string;
  /** The hints that depend on the plan alone: the device's table not read, and the route absent. */
  notRead?: string;
  absent?: string;
}

/**
 * What the checks need of a plan beyond its intents, built once per plan and shared by
 * its copies (convergence judges device by device, on copies of one plan that share its
 * switches, links and intents): who holds each address, which devices are switches,
 * spines and leaves, and each intent's texts.
 */
interface Context {
  name: string;
  links: Plan['links'];
  design: Plan['design'];
  owners: Map<string, string>;
  switches: Set<string>;
  spines: Set<string>;
  leaves: Set<string>;
  texts: WeakMap<RouteIntent, IntentTexts>;
}

const contexts = new WeakMap<Plan['switches'], Context>();
function contextOf(plan: Plan): Context {
  let c = contexts.get(plan.switches);
  if (!c || c.name !== plan.name || c.links !== plan.links || c.design !== plan.design) {
    const kinds = (kind: string) => new Set(plan.switches.filter((s) => s.kind === kind).map((s) => s.name));
    c = {
      name: plan.name, links: plan.links, design: plan.design, owners: addressOwners(plan),
      switches: new Set(plan.switches.map((s) => s.name)), spines: kinds('spine'), leaves: kinds('leaf'), texts: new WeakMap(),
    };
    contexts.set(plan.switches, c);
  }
  return c;
}

function textsOf(ctx: Context, r: RouteIntent): IntentTexts {
  let t = ctx.texts.get(r);
  if (!t) ctx.texts.set(r, t = { subject: `${r.device} ${r.prefix}`, expected: expectedText(r), want: parseCidr(r.prefix).text });
  return t;
}

/**
 * A table's destinations as numbers, sorted by network address (ties in table order),
 * once per table: the routes inside a prefix are then a binary search away, not a parse
 * of every route per absent intent.
 */
interface Nets { base: number[]; len: number[]; index: number[] }
const netsOf = new WeakMap<KernelRoute[], Nets>();
function nets(table: KernelRoute[]): Nets {
  let n = netsOf.get(table);
  if (!n) {
    const parsed = table.map((x, i) => ({ net: parseCidr(x.prefix), i })).sort((a, b) => a.net.base - b.net.base || a.i - b.i);
    netsOf.set(table, n = { base: parsed.map((p) => p.net.base), len: parsed.map((p) => p.net.prefixLen), index: parsed.map((p) => p.i) });
  }
  return n;
}

/** The table's routes whose destination lies inside `outer` (the prefix itself included), in table order. */
function routesInside(table: KernelRoute[], outer: string): KernelRoute[] {
  const o = parseCidr(outer);
  const n = nets(table);
  let lo = 0;
  let hi = n.base.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (n.base[mid] < o.base) lo = mid + 1; else hi = mid;
  }
  const found: number[] = [];
  for (let k = lo; k < n.base.length && n.base[k] < o.base + o.size; k++) if (n.len[k] >= o.prefixLen) found.push(n.index[k]);
  return found.sort((a, b) => a - b).map((i) => table[i]);
}

/** Who holds each address of the lab (link ends), to name a next hop. */
export function addressOwners(plan: Plan): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of plan.links) for (const end of [l.a, l.b]) if (end.addr) out.set(end.addr.ip, end.device);
  for (const sw of plan.switches) if (sw.bridge) out.set(sw.bridge.addr.ip, sw.name);
  for (const n of plan.nodes) if (n.vtep) out.set(n.vtep.ip, n.name);
  return out;
}

const hopText = (h: CheckNextHop) => `${h.device ?? 'an unknown device'} (${[h.ip, h.dev ? `dev ${h.dev}` : ''].filter(Boolean).join(' ')})`;

/** The kernel route's next hops, named (`ip`, `dev`, `device`: each only when known). */
function namedHops(route: KernelRoute, owners: Map<string, string>): CheckNextHop[] {
  const out: CheckNextHop[] = [];
  for (const { gateway: ip, dev } of route.nextHops) {
    const device = ip ? owners.get(ip) : undefined;
    if (!ip) out.push(dev ? { dev } : {});
    else if (device === undefined) out.push(dev ? { ip, dev } : { ip });
    else out.push(dev ? { ip, dev, device } : { ip, device });
  }
  return out;
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

const viaHas = (via: NonNullable<RouteIntent['via']>, ip: string | undefined) => {
  for (const v of via) if (v.ip === ip) return true;
  return false;
};

/**
 * Switch -> prefixes its kernel forwards through a neighbour the intent does not name:
 * verify asks FRR for their AS paths, to show the valley (pure: read from the kernel tables).
 */
export function routeDetours(plan: Plan, obs: Observations): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const ctx = contextOf(plan);
  for (const r of plan.intent.routes) {
    if (!r.present || !r.via || !ctx.switches.has(r.device)) continue;
    const table = obs.switches.get(r.device)?.kernel;
    if (!table?.ok) continue;
    const { want } = textsOf(ctx, r);
    const route = byPrefix(table.value).get(want);
    if (!route || route.type !== 'unicast' || route.nextHops.every((h) => h.gateway && viaHas(r.via!, h.gateway))) continue;
    const list = out.get(r.device) ?? [];
    if (list.length < MAX_DETOURS_PER_SWITCH) out.set(r.device, [...list, want]);
  }
  return out;
}

/** Next hops against the intended neighbours: pass, missing some, or through others (a valley on a spine). */
function judgeVia(ctx: Context, r: RouteIntent, via: NonNullable<RouteIntent['via']>, expected: string, seen: CheckNextHop[], asPaths?: string[]): { ok: boolean; observed: string; valley?: CheckNextHop[] } {
  let foreign = 0;
  for (const h of seen) if (!h.ip || !viaHas(via, h.ip)) foreign++;
  let missing = 0;
  for (const v of via) if (!seen.some((h) => h.ip === v.ip)) missing++;
  if (!foreign && !missing) {
    // As intended, in the intent's order: the same words as the expectation.
    let same = seen.length === via.length;
    for (let i = 0; same && i < seen.length; i++) same = (seen[i].device ?? seen[i].ip) === via[i].device;
    return { ok: true, observed: same ? expected : `present, ${hops(seen.length)} via ${seen.map((h) => h.device ?? h.ip ?? h.dev).join(', ')}` };
  }
  const others = seen.filter((h) => !h.ip || !viaHas(via, h.ip));
  const lacking = via.filter((v) => !seen.some((h) => h.ip === v.ip));
  const valley = ctx.spines.has(r.device) ? others.filter((h) => h.device && ctx.leaves.has(h.device)) : [];
  if (valley.length) {
    const path = asPaths?.length ? `, AS path ${asPaths.join(' / ')}` : '';
    return { ok: false, valley, observed: `valley path: via ${valley.map(hopText).join(', ')}${path}, not ${via.map((v) => v.device).join(', ')} (down to a leaf and up again through another spine)` };
  }
  const parts = [
    ...(others.length ? [`through ${others.map(hopText).join(', ')}, not an intended neighbour`] : []),
    ...(lacking.length ? [`none via ${lacking.map((v) => `${v.device} (${v.ip})`).join(', ')}`] : []),
  ];
  return { ok: false, observed: `present, ${hops(seen.length)} via ${seen.map(hopText).join(', ')}; ${parts.join('; ')}` };
}

/** What the check saw beyond the intent: the kernel's route, the leaves of a valley, or no route at all. */
interface Seen { kernel?: KernelRoute; valley?: CheckNextHop[]; absent?: boolean }

function routeHint(ctx: Context, plan: Plan, r: RouteIntent, obs: Observations, { kernel, valley, absent }: Seen = {}): string {
  const sw = ctx.switches.has(r.device);
  const look = sw
    ? [execHint(plan.name, r.device, `vtysh -c 'show ip route ${r.prefix}'`), execHint(plan.name, r.device, `ip route show ${r.prefix}`)]
    : [execHint(plan.name, r.device, r.present ? `ip route show ${r.prefix}` : 'ip route')];
  const rib = kernel && obs.switches.get(r.device)?.rib;
  const ribHops = rib && rib.ok ? rib.value.get(textsOf(ctx, r).want) : undefined;
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
  const noValley = absent && spineAsn !== undefined && ctx.spines.has(r.device) && r.via?.length
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

/** The hints without a kernel route, which depend on the plan alone: made once per intent. */
const notReadHint = (ctx: Context, plan: Plan, r: RouteIntent, obs: Observations, t: IntentTexts) => t.notRead ??= routeHint(ctx, plan, r, obs);
const absentHint = (ctx: Context, plan: Plan, r: RouteIntent, obs: Observations, t: IntentTexts) => t.absent ??= routeHint(ctx, plan, r, obs, { absent: true });

/** A route check, its fields in the documented order (nextHops and hint only when given). */
function routeCheck(r: RouteIntent, t: IntentTexts, ok: boolean, observed: string, nextHops?: CheckNextHop[], hint?: string): Check {
  const about = { device: r.device, prefix: r.prefix };
  if (nextHops) {
    return hint === undefined
      ? { kind: 'route', subject: t.subject, about, expected: t.expected, ok, observed, nextHops }
      : { kind: 'route', subject: t.subject, about, expected: t.expected, ok, observed, nextHops, hint };
  }
  return hint === undefined
    ? { kind: 'route', subject: t.subject, about, expected: t.expected, ok, observed }
    : { kind: 'route', subject: t.subject, about, expected: t.expected, ok, observed, hint };
}

function checkOne(ctx: Context, plan: Plan, r: RouteIntent, obs: Observations): Check {
  const t = textsOf(ctx, r);
  const table = ctx.switches.has(r.device) ? obs.switches.get(r.device)?.kernel : obs.nodes.get(r.device)?.kernel;
  if (!table || (!table.ok && table.unknown)) {
    const base = { kind: 'route' as const, subject: t.subject, about: { device: r.device, prefix: r.prefix }, expected: t.expected };
    return unknownCheck(base, table && !table.ok ? table.error : 'not observed', notReadHint(ctx, plan, r, obs, t));
  }
  if (!table.ok) return routeCheck(r, t, false, `cannot tell: ${table.error}`, undefined, notReadHint(ctx, plan, r, obs, t));
  const routes = table.value;
  if (!r.present) {
    const found = routesInside(routes, r.prefix);
    if (!found.length) return routeCheck(r, t, true, 'absent');
    const shown = found.slice(0, 3).map(describeRoute).join('; ') + (found.length > 3 ? `; and ${found.length - 3} more` : '');
    return routeCheck(r, t, false, shown, undefined, notReadHint(ctx, plan, r, obs, t));
  }
  const route = byPrefix(routes).get(t.want);
  if (!route) return routeCheck(r, t, false, 'absent', undefined, absentHint(ctx, plan, r, obs, t));
  if (route.type !== 'unicast') return routeCheck(r, t, false, route.type, undefined, routeHint(ctx, plan, r, obs, { kernel: route }));
  const nextHops = namedHops(route, ctx.owners);
  if (r.via) {
    const v = judgeVia(ctx, r, r.via, t.expected, nextHops, obs.asPaths?.get(r.device)?.get(t.want));
    return routeCheck(r, t, v.ok, v.observed, nextHops, v.ok ? undefined : routeHint(ctx, plan, r, obs, { kernel: route, valley: v.valley }));
  }
  const n = route.nextHops.length;
  if (r.nextHops === undefined || n === r.nextHops) return routeCheck(r, t, true, r.nextHops === undefined ? 'present' : `present, ${hops(n)}`, nextHops);
  return routeCheck(r, t, false, `present, ${hops(n)} (${describeNextHops(route)})`, nextHops, routeHint(ctx, plan, r, obs, { kernel: route }));
}

export function routeChecks(plan: Plan, obs: Observations): Check[] {
  const ctx = contextOf(plan);
  return plan.intent.routes.map((r) => checkOne(ctx, plan, r, obs));
}
