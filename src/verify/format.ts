// The readable report: checks grouped by kind, failures with expected, observed and
// where to look, and a one-line verdict.
import { checkKinds, type Check, type CheckKind, type Report } from './types.js';

const titles: Record<CheckKind, string> = {
  'bgp-session': 'BGP sessions',
  'bgp-extra': 'No sessions beyond the intent',
  route: 'Routes',
  mtu: 'Same MTU at both ends of each link',
  ping: 'Pod to pod ping',
  ttl: 'Reply TTL',
  encapsulation: 'On the wire',
  service: 'Services answer (kube-proxy)',
  'service-route': 'Service range routed by the fabric',
  snat: 'Source address seen by the outside host (natOutgoing / masquerade)',
  'outside-service': 'Services reached from the outside host',
};

type Paint = (s: string) => string;
const ansi = (on: boolean, code: number, reset: number): Paint => (s) => (on ? `\x1b[${code}m${s}\x1b[${reset}m` : s);

/** compact: one line per kind, and only the failed checks listed (what `lab up` prints). */
export function formatReport(report: Report, opts: { color: boolean; compact?: boolean }): string {
  const bold = ansi(opts.color, 1, 22);
  const dim = ansi(opts.color, 2, 22);
  const red = ansi(opts.color, 31, 39);
  const green = ansi(opts.color, 32, 39);
  const yellow = ansi(opts.color, 33, 39);
  const paint = { red, green, yellow, dim };
  const lines: string[] = [];
  for (const kind of checkKinds) {
    const checks = report.checks.filter((c) => c.kind === kind);
    if (!checks.length) continue;
    const failed = checks.filter((c) => c.status === 'fail').length;
    const unknown = checks.filter((c) => c.status === 'unknown').length;
    const head = `${titles[kind]} (${kind})`;
    const counts = [failed ? `${failed} of ${checks.length} failed` : '', unknown ? `${unknown} of ${checks.length} unknown` : ''].filter(Boolean).join(', ') || `${checks.length} passed`;
    if (opts.compact) {
      const mark = failed ? red('✘') : unknown ? yellow('?') : green('✔');
      lines.push(`${mark} ${failed || unknown ? bold(head) : head}${dim(`  ${counts}`)}`);
      const bad = checks.filter((c) => !c.ok);
      const width = Math.min(64, Math.max(0, ...bad.map((c) => c.subject.length)));
      for (const c of bad) lines.push(...formatCheck(c, width, paint));
      continue;
    }
    lines.push(bold(head) + dim(`  ${counts}`));
    const width = Math.min(64, Math.max(...checks.map((c) => c.subject.length)));
    for (const c of checks) lines.push(...formatCheck(c, width, paint));
    lines.push('');
  }
  lines.push(verdict(report, paint));
  return lines.join('\n');
}

/** The one-line verdict: passed, failed, or could not see everything; and the ping sample. */
export function verdict(report: Report, p: { red: Paint; green: Paint; yellow: Paint }): string {
  const { passed, failed, unknown } = report.summary;
  const total = passed + failed + unknown;
  const { pairs, of } = report.sample;
  const sample = pairs < of ? ` (pod pairs: ${pairs} of ${of} probed; --full for all)` : '';
  if (failed) return p.red(`✘ ${failed} of ${total} checks failed${unknown ? `, ${unknown} unknown` : ''}${sample}`);
  if (unknown) return p.yellow(`? ${unknown} of ${total} checks could not be observed (unknown), the other ${passed} passed${sample}`);
  return p.green(`✔ ${total} check${total === 1 ? '' : 's'} passed${sample}`);
}

function formatCheck(c: Check, width: number, p: { red: Paint; green: Paint; yellow: Paint; dim: Paint }): string[] {
  const subject = c.subject.padEnd(width);
  if (c.ok) return [`  ${p.green('✔')} ${subject}  ${p.dim(c.observed)}`];
  const out = c.status === 'unknown'
    ? [`  ${p.yellow('?')} ${subject}  expected ${c.expected}, unknown: ${p.yellow(c.observed)}`]
    : [`  ${p.red('✘')} ${subject}  expected ${c.expected}, observed ${p.red(c.observed)}`];
  if (c.hint) out.push(`      ${p.dim('→')} ${c.hint}`);
  return out;
}
