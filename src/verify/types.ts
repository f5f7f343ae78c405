// The verify report: a public contract (DESIGN section 6, `lab verify --json`).

export type CheckKind = 'bgp-session' | 'bgp-extra' | 'route' | 'mtu' | 'ping' | 'ttl' | 'encapsulation' | 'service' | 'service-route';

/** Report order of the kinds (and of the groups in the readable table). */
export const checkKinds: readonly CheckKind[] = ['bgp-session', 'bgp-extra', 'route', 'mtu', 'ping', 'ttl', 'encapsulation', 'service', 'service-route'];

/** pass: as intended; fail: the lab is not as intended; unknown: could not be observed. */
export type CheckStatus = 'pass' | 'fail' | 'unknown';

export interface Check {
  kind: CheckKind;
  subject: string;
  /** True only for `pass`. */
  ok: boolean;
  /** Set by makeReport from `ok` unless a check says `unknown`. */
  status?: CheckStatus;
  expected: string;
  observed: string;
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
  const { kind, subject, expected, observed, hint } = c;
  const status: CheckStatus = c.status === 'unknown' ? 'unknown' : c.ok ? 'pass' : 'fail';
  return { kind, subject, ok: status === 'pass', status, expected, observed, ...(hint === undefined ? {} : { hint }) };
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
