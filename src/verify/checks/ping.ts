// ping: real ICMP between pods on different nodes. ttl: the replies' TTL is what the mode
// implies (every router on the reply path takes one off 64).
import type { Plan, PingIntent } from '../../plan/types.js';
import { unknownCheck, type Check } from '../types.js';
import type { Observations } from './observations.js';
import { pairKey } from '../sample.js';
import { execHint, nodeOfPod } from '../where.js';

const INITIAL_TTL = 64;

export const pingSubject = (p: PingIntent) => `${p.from} -> ${p.to} (${p.toIp})`;
/** The pod pair as fields (the source pod is where the probe runs). */
export const pingAbout = (p: PingIntent) => ({ device: p.from, src: p.from, dst: p.to, srcIp: p.fromIp, dstIp: p.toIp });

function pingHint(plan: Plan, p: PingIntent): string {
  const a = nodeOfPod(plan, p.from) ?? '?';
  const b = nodeOfPod(plan, p.to) ?? '?';
  return `${p.from} runs on ${a}, ${p.to} on ${b}: try ${execHint(plan.name, p.from, `ping -c 3 ${p.toIp}`)}, `
    + `look at the routes on ${a} (${execHint(plan.name, a, 'ip route')}) and capture on ${a} eth0 (\`lab capture ${plan.name} ${a} eth0\`)`;
}

export function pingChecks(plan: Plan, obs: Observations): Check[] {
  const sample = obs.sample;
  if (!sample) return [];
  const out: Check[] = [];
  for (const [from, pairs] of sample.bySource) {
    const seen = obs.reach.get(from);
    for (const p of pairs) {
      const subject = pingSubject(p);
      const about = pingAbout(p);
      const expectedTtl = `ttl=${p.ttl}`;
      const readTtl = sample.ttl.has(pairKey(p.from, p.toIp));
      if (!seen || !seen.ok) {
        const why = seen ? seen.error : 'not observed';
        const hint = pingHint(plan, p);
        const unknown = !seen || !!seen.unknown;
        out.push(unknown
          ? unknownCheck({ kind: 'ping' as const, subject, about, expected: 'reply' }, why, hint)
          : { kind: 'ping' as const, subject, about, ok: false, expected: 'reply', observed: `cannot ping: ${why}`, hint });
        if (readTtl && !p.blockedBy) {
          out.push(unknown
            ? unknownCheck({ kind: 'ttl' as const, subject, about, expected: expectedTtl }, why)
            : { kind: 'ttl' as const, subject, about, ok: false, expected: expectedTtl, observed: 'no reply', hint: 'no reply to read a TTL from: see the ping check of the same pair' });
        }
        continue;
      }
      const { sent, received } = seen.value.replies.get(p.toIp) ?? { sent: 0, received: 0 };
      const reached = received > 0;
      if (p.blockedBy) {
        // A NetworkPolicy blocks the pair: no reply is the truth, and there is no TTL to read.
        out.push({
          kind: 'ping' as const, subject, about, ok: !reached, expected: `no reply (blocked: ${p.blockedBy})`,
          observed: reached ? `${received}/${sent} replies` : `no reply (${received}/${sent})`,
          ...(reached ? { hint: `the policy engine says this pair is blocked, yet ICMP got through: look at the node's policy chains (${execHint(plan.name, nodeOfPod(plan, p.to) ?? p.to, 'iptables-save -t filter')})` } : {}),
        });
        continue;
      }
      out.push({
        kind: 'ping', subject, about, ok: reached, expected: 'reply',
        observed: reached ? `${received}/${sent} replies` : `no reply (${received}/${sent})`,
        ...(reached ? {} : { hint: pingHint(plan, p) }),
      });
      if (!readTtl) continue;
      const distinct = [...new Set(seen.value.ttls.get(p.toIp) ?? [])];
      const ttlOk = distinct.length === 1 && distinct[0] === p.ttl;
      out.push({
        kind: 'ttl', subject, about, ok: ttlOk, expected: expectedTtl,
        observed: distinct.length ? distinct.map((t) => `ttl=${t}`).join(', ') : 'no reply',
        ...(ttlOk ? {} : {
          hint: distinct.length
            ? `the reply crossed ${distinct.map((t) => INITIAL_TTL - t).join(' or ')} routers, the mode implies ${INITIAL_TTL - p.ttl} `
              + `(the two nodes${INITIAL_TTL - p.ttl > 2 ? ', plus leaf, spine, leaf unencapsulated' : ' only: the fabric is hidden by the overlay or the rack'}); `
              + `check the routes on ${nodeOfPod(plan, p.from) ?? 'the node'} (${execHint(plan.name, nodeOfPod(plan, p.from) ?? p.from, `ip route get ${p.toIp}`)})`
            : 'no reply to read a TTL from: see the ping check of the same pair',
        }),
      });
    }
  }
  return out;
}
