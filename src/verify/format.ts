// The readable report: checks grouped by kind, failures with expected, observed and
// where to look, and a one-line verdict.
import { checkKinds, type Check, type CheckKind, type Report } from './types.js';

const titles: Record<CheckKind, string> = {
  'bgp-session': 'BGP sessions',
  'bgp-extra': 'No sessions beyond the intent',
  route: 'Routes',
  ping: 'Pod to pod ping',
  ttl: 'Reply TTL',
  encapsulation: 'On the wire',
  service: 'Services answer (kube-proxy)',
  'service-route': 'Service range routed by the fabric',
};

type Paint = (s: string) => string;
const ansi = (on: boolean, code: number, reset: number): Paint => (s) => (on ? `\x1b[${code}m${s}\x1b[${reset}m` : s);

/** compact: one line per kind, and only the failed checks listed (what `lab up` prints). */
export function formatReport(report: Report, opts: { color: boolean; compact?: boolean }): string {
  const bold = ansi(opts.color, 1, 22);
  const dim = ansi(opts.color, 2, 22);
  const red = ansi(opts.color, 31, 39);
  const green = ansi(opts.color, 32, 39);
  const lines: string[] = [];
  for (const kind of checkKinds) {
    const checks = report.checks.filter((c) => c.kind === kind);
    if (!checks.length) continue;
    const failed = checks.filter((c) => !c.ok).length;
    const head = `${titles[kind]} (${kind})`;
    if (opts.compact) {
      lines.push(failed ? `${red('✘')} ${bold(head)}${dim(`  ${failed} of ${checks.length} failed`)}` : `${green('✔')} ${head}${dim(`  ${checks.length} passed`)}`);
      const bad = checks.filter((c) => !c.ok);
      const width = Math.min(64, Math.max(0, ...bad.map((c) => c.subject.length)));
      for (const c of bad) lines.push(...formatCheck(c, width, { red, green, dim }));
      continue;
    }
    lines.push(bold(head) + dim(failed ? `  ${failed} of ${checks.length} failed` : `  ${checks.length} passed`));
    const width = Math.min(64, Math.max(...checks.map((c) => c.subject.length)));
    for (const c of checks) lines.push(...formatCheck(c, width, { red, green, dim }));
    lines.push('');
  }
  const total = report.summary.passed + report.summary.failed;
  lines.push(report.ok
    ? green(`✔ ${total} check${total === 1 ? '' : 's'} passed`)
    : red(`✘ ${report.summary.failed} of ${total} checks failed`));
  return lines.join('\n');
}

function formatCheck(c: Check, width: number, p: { red: Paint; green: Paint; dim: Paint }): string[] {
  const subject = c.subject.padEnd(width);
  if (c.ok) return [`  ${p.green('✔')} ${subject}  ${p.dim(c.observed)}`];
  const out = [`  ${p.red('✘')} ${subject}  expected ${c.expected}, observed ${p.red(c.observed)}`];
  if (c.hint) out.push(`      ${p.dim('→')} ${c.hint}`);
  return out;
}
