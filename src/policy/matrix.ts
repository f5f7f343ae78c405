// The truth table (DESIGN 8.1, `lab policy matrix --json`): expected reachability from
// the engine, observed from real connections, pure once the probes are in.
import type { Plan, Pod } from '../plan/types.js';
import type { NetworkPolicy } from './types.js';
import { evaluate, why as whyBlocked } from './engine.js';
import { clusterOf, endpointOf } from './felix.js';
import { unobserved, type ProbeResult } from './probe.js';

export interface Matrix {
  pods: string[];
  port: number;
  expected: ('.' | 'X')[][];
  observed: ('.' | 'X' | '?')[][];
  correct: number;
  wrong: number;
  /** Cells that could not be observed (a probe that did not run). */
  unknown: number;
  /** "FROM TO" -> why it is blocked (expected X) or why it disagrees. */
  why: Record<string, string>;
  /** "FROM TO" -> what the probe saw, for every cell that was probed. */
  seen: Record<string, string>;
}

export const podRef = (p: Pod) => `${p.namespace}/${p.name}`;

/** Expected: '.' when the policies allow TCP `port` and the target serves it. Loopback is always '.' (as upstream, not probed). */
export function expectedCell(plan: Plan, policies: NetworkPolicy[], from: Pod, to: Pod, port: number): { cell: '.' | 'X'; why?: string } {
  if (from === to) return { cell: '.' };
  const cluster = clusterOf(plan);
  const v = evaluate(policies, cluster, endpointOf(from), endpointOf(to), { protocol: 'TCP', port });
  if (!v.allowed) return { cell: 'X', why: whyBlocked(v, endpointOf(from), endpointOf(to), { protocol: 'TCP', port }) };
  if (!to.ports.some((p) => p.port === port)) return { cell: 'X', why: `${podRef(to)} serves no TCP port ${port} (it serves ${to.ports.map((p) => p.port).join(', ')})` };
  return { cell: '.' };
}

export const target = (p: Pod, port: number) => `${p.ip}:${port}`;

export function buildMatrix(plan: Plan, policies: NetworkPolicy[], port: number, probes: Map<string, Map<string, ProbeResult>>): Matrix {
  const pods = plan.pods;
  const m: Matrix = { pods: pods.map(podRef), port, expected: [], observed: [], correct: 0, wrong: 0, unknown: 0, why: {}, seen: {} };
  for (const from of pods) {
    const erow: ('.' | 'X')[] = [];
    const orow: ('.' | 'X' | '?')[] = [];
    for (const to of pods) {
      const key = `${podRef(from)} ${podRef(to)}`;
      const e = expectedCell(plan, policies, from, to, port);
      erow.push(e.cell);
      if (from === to) { orow.push('.'); continue; }
      const r = probes.get(from.name)?.get(target(to, port));
      const o = unobserved(r) ? '?' : r!.ok ? '.' : 'X';
      orow.push(o);
      m.seen[key] = r ? (r.ok ? `answered: ${r.answer}` : r.error) : 'not probed';
      if (o === '?') m.unknown++;
      else if (o === e.cell) m.correct++;
      else m.wrong++;
      if (e.why) m.why[key] = e.why;
      if (o !== '?' && o !== e.cell) {
        m.why[key] = o === 'X'
          ? `expected allowed (${e.why ?? 'no policy blocks it'}), but the connection failed: ${m.seen[key]}`
          : `expected blocked (${e.why}), but it ${m.seen[key]}`;
      }
    }
    m.expected.push(erow);
    m.observed.push(orow);
  }
  return m;
}

/** The readable grid: rows connect to columns; observed values, disagreements marked "!". */
export function formatMatrix(m: Matrix, policies: NetworkPolicy[]): string {
  const n = m.pods.length;
  const w = String(n).length;
  const names = m.pods.map((p, i) => `${String(i + 1).padStart(w)} ${p}`);
  const nameW = Math.max(...names.map((s) => s.length));
  const lines = [
    `TCP port ${m.port}; ${policies.length ? `policies in force: ${policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).join(', ')}` : 'no NetworkPolicy in force'}`,
    'rows connect to columns: . allowed, X blocked, ! observed differs from expected, ? could not observe',
    '',
    `${' '.repeat(nameW)}  ${m.pods.map((_, i) => String(i + 1).padStart(w)).join(' ')}`,
  ];
  m.pods.forEach((_, i) => {
    const cells = m.observed[i].map((o, j) => {
      const mark = o !== '?' && o !== m.expected[i][j] ? '!' : ' ';
      return (o + mark).padStart(w + 1).slice(-(w + 1));
    });
    lines.push(`${names[i].padEnd(nameW)}  ${cells.join('').trimEnd()}`);
  });
  lines.push('', `correct: ${m.correct}, wrong: ${m.wrong}${m.unknown ? `, unknown: ${m.unknown}` : ''}`);
  const wrong = Object.entries(m.why).filter(([k]) => { const [a, b] = k.split(' '); const i = m.pods.indexOf(a), j = m.pods.indexOf(b); return m.observed[i][j] !== '?' && m.observed[i][j] !== m.expected[i][j]; });
  if (wrong.length) lines.push('', 'wrong:', ...wrong.map(([k, v]) => `  ${k.replace(' ', ' -> ')}: ${v}`));
  const blocked = Object.entries(m.why).filter(([k]) => !wrong.some(([x]) => x === k));
  if (blocked.length) lines.push('', 'blocked, and why:', ...blocked.map(([k, v]) => `  ${k.replace(' ', ' -> ')}: ${v}`));
  return lines.join('\n');
}
