// route: each device has (or has not) the prefixes its mode demands, with the number of
// next hops the fabric implies (ECMP over spines). Judged on the kernel's table, which
// is what forwards; FRR's RIB only explains a disagreement.
import type { Plan, RouteIntent } from '../../plan/types.js';
import { unknownCheck, type Check } from '../types.js';
import type { Observations } from './observations.js';
import { parseCidr, intToIp } from '../../plan/ip.js';
import { describeRoute, describeNextHops, type KernelRoute } from '../parse/kernel-routes.js';
import { execHint, isSwitch } from '../where.js';

const canonical = (prefix: string) => {
  const c = parseCidr(prefix);
  return `${intToIp(c.base)}/${c.prefixLen}`;
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
  return r.nextHops === undefined ? 'present' : `present, ${hops(r.nextHops)}`;
}

function routeHint(plan: Plan, r: RouteIntent, obs: Observations, kernel?: KernelRoute): string {
  const sw = isSwitch(plan, r.device);
  const look = sw
    ? [execHint(plan.name, r.device, `vtysh -c 'show ip route ${r.prefix}'`), execHint(plan.name, r.device, `ip route show ${r.prefix}`)]
    : [execHint(plan.name, r.device, r.present ? `ip route show ${r.prefix}` : 'ip route')];
  const rib = obs.switches.get(r.device)?.rib;
  const ribHops = rib?.ok ? rib.value.get(canonical(r.prefix)) : undefined;
  const desync = !!kernel && ribHops !== undefined && ribHops !== kernel.nextHops.length;
  if (sw && r.present && !desync) look.push(`the BGP sessions of ${r.device}`);
  const parts = [`why: ${r.why}`, `check ${look.slice(0, -1).join(', ')}${look.length > 1 ? ' and ' : ''}${look[look.length - 1]}`];
  if (desync) {
    parts.push(`FRR's RIB has ${hops(ribHops!)} but the kernel forwards over ${kernel!.nextHops.length}: zebra and the kernel are out of sync `
      + `(FRR 8.4 can drop a nexthop-group member after a link flap; \`no zebra nexthop kernel enable\` avoids it)`);
  }
  return parts.join('; ');
}

function checkOne(plan: Plan, r: RouteIntent, obs: Observations): Check {
  const base = { kind: 'route' as const, subject: `${r.device} ${r.prefix}`, expected: expectedText(r) };
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
  const route = routes.find((x) => x.prefix === want);
  if (!route) return { ...base, ok: false, observed: 'absent', hint: routeHint(plan, r, obs) };
  if (route.type !== 'unicast') return { ...base, ok: false, observed: route.type, hint: routeHint(plan, r, obs, route) };
  const n = route.nextHops.length;
  if (r.nextHops === undefined || n === r.nextHops) {
    return { ...base, ok: true, observed: r.nextHops === undefined ? 'present' : `present, ${hops(n)}` };
  }
  return { ...base, ok: false, observed: `present, ${hops(n)} (${describeNextHops(route)})`, hint: routeHint(plan, r, obs, route) };
}

export function routeChecks(plan: Plan, obs: Observations): Check[] {
  return plan.intent.routes.map((r) => checkOne(plan, r, obs));
}
