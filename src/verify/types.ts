// The verify report: a public contract (DESIGN section 6, `lab verify --json`).

export type CheckKind = 'bgp-session' | 'bgp-extra' | 'route' | 'ping' | 'ttl' | 'encapsulation' | 'service' | 'service-route';

/** Report order of the kinds (and of the groups in the readable table). */
export const checkKinds: readonly CheckKind[] = ['bgp-session', 'bgp-extra', 'route', 'ping', 'ttl', 'encapsulation', 'service', 'service-route'];

export interface Check {
  kind: CheckKind;
  subject: string;
  ok: boolean;
  expected: string;
  observed: string;
  /** Failed checks only: where to look (a command to run, a link to inspect). */
  hint?: string;
}

export interface Report {
  lab: string;
  ok: boolean;
  summary: { passed: number; failed: number };
  checks: Check[];
}

/** The documented field order, whatever order a check was built in (the JSON is read by people too). */
function canonical(c: Check): Check {
  const { kind, subject, ok, expected, observed, hint } = c;
  return { kind, subject, ok, expected, observed, ...(hint === undefined ? {} : { hint }) };
}

export function makeReport(lab: string, checks: Check[]): Report {
  const order = (c: Check) => checkKinds.indexOf(c.kind);
  const sorted = checks.map((c, i) => ({ c, i })).sort((a, b) => order(a.c) - order(b.c) || a.i - b.i).map((x) => canonical(x.c));
  const failed = sorted.filter((c) => !c.ok).length;
  return { lab, ok: failed === 0, summary: { passed: sorted.length - failed, failed }, checks: sorted };
}
