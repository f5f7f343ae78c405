// The verify report: a public contract (DESIGN section 6, `lab verify --json`).

export type CheckKind = 'bgp-session' | 'bgp-extra' | 'route' | 'mtu' | 'ping' | 'ttl' | 'encapsulation' | 'service' | 'service-route' | 'snat' | 'outside-service';

/** Report order of the kinds (and of the groups in the readable table). */
export const checkKinds: readonly CheckKind[] = ['bgp-session', 'bgp-extra', 'route', 'mtu', 'ping', 'ttl', 'encapsulation', 'service', 'service-route', 'snat', 'outside-service'];

/** pass: as intended; fail: the lab is not as intended; unknown: could not be observed. */
export type CheckStatus = 'pass' | 'fail' | 'unknown';

/**
 * The subject as fields, beside its text, for tools (never needing to parse `subject`):
 * the device the check is about, and as the kind has them the BGP peer, the prefix, the
 * pod pair (src -> dst) with its addresses, the interface.
 */
export interface CheckAbout {
  device?: string;
  peer?: string;
  peerIp?: string;
  prefix?: string;
  src?: string;
  dst?: string;
  srcIp?: string;
  dstIp?: string;
  iface?: string;
}

/** A next hop of a route as the kernel forwards over it, named after the device holding the address. */
export interface CheckNextHop { ip?: string; dev?: string; device?: string }

export interface Check {
  kind: CheckKind;
  subject: string;
  /** The subject as fields. */
  about?: CheckAbout;
  /** True only for `pass`. */
  ok: boolean;
  /** Set by makeReport from `ok` unless a check says `unknown`. */
  status?: CheckStatus;
  expected: string;
  observed: string;
  /** route checks of a present route: the next hops observed (pass or fail). */
  nextHops?: CheckNextHop[];
  /** Failed checks only: where to look (a command to run, a link to inspect). */
  hint?: string;
}

export interface Report {
  lab: string;
  ok: boolean;
  summary: { passed: number; failed: number; unknown: number };
  /** Pod pairs probed of those that exist (all of them up to 64 pods, or with --full). */
  sample: { pairs: number; of: number };
  checks: Check[];
}

/** The documented field order, whatever order a check was built in (the JSON is read by people too). */
function canonical(c: Check): Check & { status: CheckStatus } {
  const { kind, subject, about, expected, observed, nextHops, hint } = c;
  const status: CheckStatus = c.status === 'unknown' ? 'unknown' : c.ok ? 'pass' : 'fail';
  // The fields added later come after the first six, whose order scripts may rely on.
  return {
    kind, subject, ok: status === 'pass', status, expected, observed,
    ...(about === undefined ? {} : { about }), ...(nextHops === undefined ? {} : { nextHops }), ...(hint === undefined ? {} : { hint }),
  };
}

/** A check that could not be observed: `unknown`, never `fail` (observed says why). */
export const unknownCheck = <T extends Omit<Check, 'ok' | 'status' | 'observed'>>(base: T, why: string, hint?: string): Check =>
  ({ ...base, ok: false, status: 'unknown', observed: why, ...(hint ? { hint } : {}) });

export function makeReport(lab: string, checks: Check[], sample: { pairs: number; of: number } = { pairs: 0, of: 0 }): Report {
  const order = (c: Check) => checkKinds.indexOf(c.kind);
  const sorted = checks.map((c, i) => ({ c, i })).sort((a, b) => order(a.c) - order(b.c) || a.i - b.i).map((x) => canonical(x.c));
  const count = (s: CheckStatus) => sorted.filter((c) => c.status === s).length;
  const summary = { passed: count('pass'), failed: count('fail'), unknown: count('unknown') };
  return { lab, ok: summary.failed === 0 && summary.unknown === 0, summary, sample, checks: sorted };
}
