// mtu: both ends of every cable of the plan have the same MTU. A mismatch breaks nothing
// small (BGP keepalives, verify's own pings), only packets larger than the smaller MTU,
// so it is judged on what the devices say about their interfaces, read in the same exec
// as their routes. A link is checked when both its ends were observed in this verify
// (switches and nodes of the intent, pods that probed their peers).
import type { Link, Plan } from '../../plan/types.js';
import type { LinkStates, Observed } from '../../observe/types.js';
import { unknownCheck, type Check } from '../types.js';
import type { Observations } from './observations.js';
import { execHint } from '../where.js';

export const linkSubject = (l: Link) => `${l.a.device} ${l.a.iface} <-> ${l.b.device} ${l.b.iface}`;

/** What was seen of a device's interfaces; undefined: the device was not looked at in this verify. */
function linksSeen(obs: Observations, device: string): Observed<LinkStates> | undefined {
  const dev = obs.switches.get(device) ?? obs.nodes.get(device);
  if (dev) return dev.links;
  const reach = obs.reach.get(device);
  if (!reach) return undefined;
  // The pod's interfaces are read after its probes: when those failed they were not read (unknown, not a fault).
  return reach.ok ? reach.value.links : { ok: false, unknown: true, error: `not read (${reach.error})` };
}

export function mtuChecks(plan: Plan, obs: Observations): Check[] {
  const out: Check[] = [];
  for (const link of plan.links) {
    const seen = [linksSeen(obs, link.a.device), linksSeen(obs, link.b.device)];
    if (!seen[0] || !seen[1]) continue;
    const base = { kind: 'mtu' as const, subject: linkSubject(link), about: { device: link.a.device, iface: link.a.iface, peer: link.b.device }, expected: 'the same MTU at both ends' };
    const ends = [link.a, link.b];
    const look = ends.map((e) => execHint(plan.name, e.device, `ip link show ${e.iface}`)).join(' and ');
    const lost = seen.find((s): s is Extract<Observed<LinkStates>, { ok: false }> => !s!.ok);
    if (lost) {
      out.push(lost.unknown ? unknownCheck(base, lost.error) : { ...base, ok: false, observed: `cannot tell: ${lost.error}`, hint: `check ${look}` });
      continue;
    }
    const mtus = ends.map((e, i) => (seen[i] as { value: LinkStates }).value.get(e.iface)?.mtu);
    const missing = ends.filter((_, i) => mtus[i] === undefined);
    if (missing.length) {
      out.push({ ...base, ok: false, observed: missing.map((e) => `${e.device} has no ${e.iface}`).join(', '), hint: `check ${look}` });
      continue;
    }
    if (mtus[0] === mtus[1]) {
      out.push({ ...base, ok: true, observed: `${mtus[0]} at both ends` });
      continue;
    }
    const small = mtus[0]! < mtus[1]! ? 0 : 1;
    out.push({
      ...base, ok: false, observed: ends.map((e, i) => `${e.device} ${e.iface} ${mtus[i]}`).join(', '),
      hint: `packets larger than ${mtus[small]} bytes do not cross this link whole (${ends[small].device} ${ends[small].iface} sends and accepts no more), `
        + `while small ones (BGP keepalives, ping) still pass; check ${look}`,
    });
  }
  return out;
}
