// Exercise files (labs/exercises/NAME.yaml): a starting lab, what is broken, the goal,
// hints in order and a text for the student. Validated with every problem positioned
// (`file:line:col  field  message`, all at once, exit 2), including references into the
// starting lab's plan (a node, a cable, a rack that must exist).
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { labsDir } from '../paths.js';
import { badInput, LabError, LabFileError, type Problem } from '../errors.js';
import { formatPath, locate, parseYaml, type Seg } from '../lab/positions.js';
import type { Plan } from '../plan/types.js';
import { breakKinds, breakProblem, type Break } from './breaks.js';
import type { CheckKind } from '../verify/index.js';

export const exercisesDir = path.join(labsDir, 'exercises');
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** A goal: every check of a verify kind passes, or one device reaches an address. */
export type Goal =
  | { verify: CheckKind }
  | { ping: { from: string; to: string; expect: 'reply' | 'no-reply' } };

export interface Exercise {
  name: string;
  file: string;
  title: string;
  lab: string;
  text: string;
  breaks: Break[];
  goals: Goal[];
  hints: string[];
}

const VERIFY_KINDS: readonly CheckKind[] = ['bgp-session', 'bgp-extra', 'route', 'mtu', 'ping', 'ttl', 'encapsulation'];
const BREAK_FIELDS: Record<Break['kind'], Record<string, 'string' | 'int'>> = {
  'link-down': { a: 'string', b: 'string' },
  'vxlan-vni': { node: 'string', vni: 'int' },
  'bgp-peer-missing': { rack: 'string' },
  'route-missing': { node: 'string', prefix: 'string' },
  'masquerade-off': { node: 'string' },
  'policy-deny': { namespace: 'string', name: 'string' },
};

export async function exerciseNames(): Promise<string[]> {
  return (await readdir(exercisesDir).catch(() => [] as string[])).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

export function exerciseFile(name: string): string {
  if (name.includes('/') || name.endsWith('.yaml')) return path.resolve(name);
  if (!NAME_RE.test(name)) throw badInput(`"${name}" is not an exercise name (allowed: lowercase letters, digits and "-")`);
  return path.join(exercisesDir, `${name}.yaml`);
}

/** Read and validate an exercise; `planOf` plans its starting lab (for reference checks). */
export async function loadExercise(ref: string, planOf: (lab: string) => Promise<Plan>): Promise<{ exercise: Exercise; plan: Plan }> {
  const file = exerciseFile(ref);
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch {
    const names = await exerciseNames();
    throw badInput(`no exercise ${path.basename(file, '.yaml')} (${file}); exercises: ${names.join(', ') || 'none'}`);
  }
  return parseExercise(source, file, planOf);
}

export async function parseExercise(source: string, file: string, planOf: (lab: string) => Promise<Plan>): Promise<{ exercise: Exercise; plan: Plan }> {
  const shown = path.relative(process.cwd(), file).startsWith('..') ? file : path.relative(process.cwd(), file);
  const parsed = parseYaml(source);
  const problems: Problem[] = [];
  const at = (p: Seg[], message: string, where: 'key' | 'value' = 'value') => {
    const { line, col } = locate(parsed, p, where);
    problems.push({ file: shown, line, col, path: formatPath(p), message });
  };
  if (parsed.syntax.length) throw new LabFileError(parsed.syntax.map((s) => ({ file: shown, line: s.line, col: s.col, path: '', message: s.message })));
  const data = parsed.doc.toJS({ maxAliasCount: 10 }) as unknown;
  const isObj = (x: unknown): x is Record<string, unknown> => !!x && typeof x === 'object' && !Array.isArray(x);
  if (!isObj(data)) throw new LabFileError([{ file: shown, line: 1, col: 1, path: '', message: 'an exercise is a mapping with title, lab, text, break, goal and hints' }]);

  const allowed = ['title', 'lab', 'text', 'break', 'goal', 'hints'];
  for (const k of Object.keys(data)) if (!allowed.includes(k)) at([k], `unknown key "${k}" (allowed: ${allowed.join(', ')})`, 'key');
  const text = (k: string, oneLine: boolean) => {
    const v = data[k];
    if (v === undefined) return at([], `missing "${k}"`), '';
    if (typeof v !== 'string' || !v.trim()) return at([k], `${k} must be ${oneLine ? 'one line of' : ''} text`), '';
    if (oneLine && /[\n\r]/.test(v)) return at([k], `${k} must be one line`), '';
    return v;
  };
  const title = text('title', true);
  const labRef = text('lab', true);
  const body = text('text', false);

  let plan: Plan | undefined;
  if (labRef) {
    try {
      plan = await planOf(labRef.includes('/') ? path.resolve(path.dirname(file), labRef) : labRef);
    } catch (e) {
      at(['lab'], `starting lab "${labRef}" does not load: ${e instanceof LabError ? e.message.split('\n')[0] : String(e)}`);
    }
  }

  const list = (k: string): unknown[] => {
    const v = data[k];
    if (v === undefined) return at([], `missing "${k}" (a list)`), [];
    if (!Array.isArray(v) || !v.length) return at([k], `${k} must be a list with at least one entry`), [];
    return v;
  };

  const breaks: Break[] = [];
  list('break').forEach((entry, i) => {
    if (!isObj(entry) || Object.keys(entry).length !== 1) return at(['break', i], `each break is one of ${breakKinds.join(', ')} with its fields, e.g. "- link-down: { a: leaf1, b: spine-sw1 }"`);
    const [kind, args] = Object.entries(entry)[0];
    const fields = BREAK_FIELDS[kind as Break['kind']];
    if (!fields) return at(['break', i, kind], `unknown break "${kind}" (allowed: ${breakKinds.join(', ')})`, 'key');
    if (!isObj(args)) return at(['break', i, kind], `${kind} takes { ${Object.keys(fields).join(', ')} }`);
    let ok = true;
    for (const k of Object.keys(args)) if (!(k in fields)) { ok = false; at(['break', i, kind, k], `unknown field "${k}" of ${kind} (allowed: ${Object.keys(fields).join(', ')})`, 'key'); }
    for (const [k, type] of Object.entries(fields)) {
      const v = args[k];
      if (v === undefined) { ok = false; at(['break', i, kind], `${kind} needs "${k}"`); continue; }
      if (type === 'int' ? !(Number.isInteger(v) && (v as number) > 0 && (v as number) < 16777216) : typeof v !== 'string' || !v) {
        ok = false;
        at(['break', i, kind, k], type === 'int' ? `${k} must be a whole number 1..16777215` : `${k} must be a name`);
      }
    }
    if (!ok) return;
    const b = { kind, ...args } as Break;
    if (plan) {
      const p = breakProblem(plan, b);
      if (p) return at(['break', i, kind, p.field], p.message);
    }
    breaks.push(b);
  });

  const goals: Goal[] = [];
  list('goal').forEach((entry, i) => {
    if (isObj(entry) && Object.keys(entry).length === 1 && 'verify' in entry) {
      if (!VERIFY_KINDS.includes(entry.verify as CheckKind)) return at(['goal', i, 'verify'], `verify takes a check kind: ${VERIFY_KINDS.join(', ')}`);
      return goals.push({ verify: entry.verify as CheckKind });
    }
    if (isObj(entry) && Object.keys(entry).length === 1 && isObj(entry.ping)) {
      const g = entry.ping;
      for (const k of Object.keys(g)) if (!['from', 'to', 'expect'].includes(k)) return at(['goal', i, 'ping', k], `unknown field "${k}" of ping (allowed: from, to, expect)`, 'key');
      if (typeof g.from !== 'string') return at(['goal', i, 'ping'], 'ping needs "from": a device, or "pod-on:NODE" for the first pod of a node');
      if (typeof g.to !== 'string' || !/^\d+\.\d+\.\d+\.\d+$/.test(g.to)) return at(['goal', i, 'ping', 'to'], 'ping needs "to": an IPv4 address');
      const expect = g.expect ?? 'reply';
      if (expect !== 'reply' && expect !== 'no-reply') return at(['goal', i, 'ping', 'expect'], 'expect is reply (default) or no-reply');
      if (plan && !resolveFrom(plan, g.from)) return at(['goal', i, 'ping', 'from'], `no device or pod-on:NODE "${g.from}" in lab ${plan.name}`);
      return goals.push({ ping: { from: g.from, to: g.to, expect } });
    }
    at(['goal', i], `a goal is "verify: KIND" (${VERIFY_KINDS.join(', ')}) or "ping: { from, to }"`);
  });

  const hints: string[] = [];
  list('hints').forEach((h, i) => (typeof h === 'string' && h.trim() ? hints.push(h.trim()) : at(['hints', i], 'a hint is text')));

  if (problems.length) throw new LabFileError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
  return { exercise: { name: path.basename(file, '.yaml'), file, title, lab: labRef, text: body, breaks, goals, hints }, plan: plan! };
}

/** A ping goal's source device: a device name, or `pod-on:NODE` (the node's first pod). */
export function resolveFrom(plan: Plan, from: string): string | undefined {
  if (from.startsWith('pod-on:')) return plan.pods.find((p) => p.node === from.slice(7))?.name;
  const all = [...plan.switches, ...plan.nodes, ...plan.pods].map((d) => d.name);
  return all.includes(from) ? from : undefined;
}

export const goalText = (g: Goal): string => ('verify' in g
  ? `verify ${g.verify}: every check passes`
  : `ping from ${g.ping.from} to ${g.ping.to} ${g.ping.expect === 'reply' ? 'gets a reply' : 'gets no reply'}`);
