// bgp-session: every session of the intent is Established, seen from its speaker.
// bgp-extra: no speaker has a session (configured or accepted) beyond the intent.
import type { Plan, SessionIntent } from '../../plan/types.js';
import { unknownCheck, type Check } from '../types.js';
import type { Observations } from './observations.js';
import { linkBetween, isSwitch, showBgpSummary, showBirdProtocols } from '../where.js';

const ESTABLISHED = 'Established';

export const sessionSubject = (s: SessionIntent) => `${s.speaker} -> ${s.peer} (${s.peerIp})`;
const sessionAbout = (s: SessionIntent) => ({ device: s.speaker, peer: s.peer, peerIp: s.peerIp });

function sessionHint(plan: Plan, s: SessionIntent): string {
  const link = linkBetween(plan, s.speaker, s.peer);
  const speakerSide = isSwitch(plan, s.speaker) ? showBgpSummary(plan.name, s.speaker) : showBirdProtocols(plan.name, s.speaker);
  const peerSide = isSwitch(plan, s.peer) ? showBgpSummary(plan.name, s.peer) : showBirdProtocols(plan.name, s.peer);
  return `check ${speakerSide}${link ? ` and the link ${link}` : ''}; the other end: ${peerSide}`;
}

/** What the speaker says about one intended session: a state, or why there is none. */
function observeSession(plan: Plan, s: SessionIntent, obs: Observations): { state: string; remoteAs?: number; unknown?: boolean } {
  if (isSwitch(plan, s.speaker)) {
    const bgp = obs.switches.get(s.speaker)?.bgp;
    if (!bgp) return { state: 'not observed', unknown: true };
    if (!bgp.ok) return { state: bgp.error, unknown: bgp.unknown };
    const peer = bgp.value.find((p) => p.ip === s.peerIp);
    if (!peer) return { state: s.dynamic ? `not connected (no dynamic peer ${s.peerIp})` : 'not configured' };
    return { state: peer.state, remoteAs: peer.remoteAs };
  }
  const bgp = obs.nodes.get(s.speaker)?.bgp;
  if (!bgp) return { state: 'not observed', unknown: true };
  if (!bgp.ok) return { state: bgp.error, unknown: bgp.unknown };
  const proto = bgp.value.find((p) => p.neighborIp === s.peerIp);
  if (!proto) return { state: `not configured (no BGP protocol with neighbor ${s.peerIp})` };
  return { state: proto.state, remoteAs: proto.neighborAs };
}

export function sessionChecks(plan: Plan, obs: Observations): Check[] {
  return plan.intent.sessions.map((s) => {
    const seen = observeSession(plan, s, obs);
    if (seen.unknown) return unknownCheck({ kind: 'bgp-session' as const, subject: sessionSubject(s), about: sessionAbout(s), expected: ESTABLISHED }, seen.state, sessionHint(plan, s));
    const wrongAs = seen.state === ESTABLISHED && seen.remoteAs !== undefined && seen.remoteAs !== s.remoteAsn;
    const ok = seen.state === ESTABLISHED && !wrongAs;
    const observed = wrongAs ? `${ESTABLISHED} with AS ${seen.remoteAs} (expected AS ${s.remoteAsn})` : seen.state;
    return {
      kind: 'bgp-session' as const, subject: sessionSubject(s), about: sessionAbout(s), ok, expected: ESTABLISHED, observed,
      ...(ok ? {} : { hint: sessionHint(plan, s) }),
    };
  });
}

interface SeenSession { ip: string; state: string; remoteAs?: number; dynamic?: boolean }

function describe(x: SeenSession): string {
  const extra = [x.remoteAs !== undefined ? `AS ${x.remoteAs}` : '', x.dynamic ? 'dynamic' : ''].filter(Boolean).join(', ');
  return `${x.ip} ${x.state}${extra ? ` (${extra})` : ''}`;
}

export function extraSessionChecks(plan: Plan, obs: Observations): Check[] {
  const speakers = [
    ...plan.switches.filter((s) => s.bgp).map((s) => s.name),
    ...plan.nodes.filter((n) => n.bgp).map((n) => n.name),
  ];
  return speakers.map((speaker) => {
    const intended = new Set(plan.intent.sessions.filter((s) => s.speaker === speaker).map((s) => s.peerIp));
    const sw = isSwitch(plan, speaker);
    const bgp = sw ? obs.switches.get(speaker)?.bgp : obs.nodes.get(speaker)?.bgp;
    const base = { kind: 'bgp-extra' as const, subject: speaker, about: { device: speaker }, expected: 'no sessions beyond the intent' };
    const where = sw ? showBgpSummary(plan.name, speaker) : showBirdProtocols(plan.name, speaker);
    if (!bgp || (!bgp.ok && bgp.unknown)) return unknownCheck(base, bgp && !bgp.ok ? bgp.error : 'not observed', `check ${where}`);
    if (!bgp.ok) return { ...base, ok: false, observed: `cannot tell: ${bgp.error}`, hint: `check ${where}` };
    const seen: SeenSession[] = sw
      ? (bgp.value as Array<{ ip: string; state: string; remoteAs?: number; dynamic: boolean }>)
      : (bgp.value as Array<{ neighborIp?: string; state: string; neighborAs?: number }>).map((p) => ({ ip: p.neighborIp ?? '?', state: p.state, remoteAs: p.neighborAs }));
    const extra = seen.filter((x) => !intended.has(x.ip));
    if (!extra.length) return { ...base, ok: true, observed: 'none' };
    return {
      ...base, ok: false, observed: extra.map(describe).join(', '),
      hint: `${speaker} has sessions the plan does not know: check ${where} and its configuration${sw ? ' (neighbors, listen range)' : ''}`,
    };
  });
}
