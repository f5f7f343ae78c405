// Turns ajv's errors into Issues whose messages say what was wrong and what is allowed:
// `unknown key "adress"; allowed: subnet, gateway`, `must be one of: vxlan, bgp, ipip`.
import type { ErrorObject } from 'ajv';
import { allowedKeys } from './schema.js';
import type { Issue, Seg } from './positions.js';

/** The YAML way to name a value's kind. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text ${JSON.stringify(v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the number ${v}` : `the decimal number ${v}`;
  return String(v);
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping (key: value lines)', array: 'a list', string: 'text',
  integer: 'a whole number', number: 'a number', boolean: 'true or false',
};

/** Decode a JSON pointer, turning list indices into numbers (walking the data to know which). */
function toPath(pointer: string, data: unknown): Seg[] {
  const segs: Seg[] = [];
  let at = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg: Seg = Array.isArray(at) ? Number(key) : key;
    segs.push(seg);
    at = at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  return segs;
}

/** Nearest other word, for "did you mean" (a typo is usually one or two edits away). */
export function closest(word: string, options: string[]): string | undefined {
  let best: string | undefined;
  let bestDist = 3;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestDist) { best = o; bestDist = d; }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * @param sourceOf the value's text as written in the file, to explain YAML's reading of
 *   it (unquoted 1.30 is the number 1.3).
 */
export function shapeIssues(errors: ErrorObject[], data: unknown, sourceOf: (path: Seg[]) => string | undefined): Issue[] {
  return errors.map((e) => {
    const path = toPath(e.instancePath, data);
    const parent = e.parentSchema as Record<string, unknown> | undefined;
    const p = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'additionalProperties': {
        const key = String(p.additionalProperty);
        const allowed = allowedKeys(parent);
        const guess = closest(key, allowed);
        return {
          path: [...path, key], at: 'key',
          message: `unknown key "${key}"${guess ? ` (did you mean "${guess}"?)` : ''}; allowed: ${allowed.join(', ')}`,
        };
      }
      case 'required':
        return { path: [...path, String(p.missingProperty)], message: `missing required key "${p.missingProperty}"` };
      case 'type':
        return { path, message: typeMessage(String(p.type), e.data, sourceOf(path), path) };
      case 'enum':
        return { path, message: `must be one of: ${(p.allowedValues as unknown[]).join(', ')}; got ${describe(e.data)}` };
      case 'pattern':
      case 'maxLength':
        return { path, message: `${String(parent?.hint ?? `must match ${String(p.pattern)}`)}; got ${describe(e.data)}` };
      case 'minimum':
      case 'maximum':
        return { path, message: `must be between ${parent?.minimum} and ${parent?.maximum}; got ${e.data}` };
      case 'minItems':
        return { path, message: `needs at least ${p.limit} ${p.limit === 1 ? 'entry' : 'entries'}; got ${(e.data as unknown[]).length}` };
      default:
        return { path, message: e.message ?? 'invalid value' };
    }
  });
}

function typeMessage(type: string, value: unknown, written: string | undefined, path: Seg[]): string {
  const want = TYPE_WORDS[type] ?? type;
  const key = String(path[path.length - 1] ?? '');
  if (path.length === 0) {
    return `a lab file must be a mapping of keys (name, description, fabric or lan, kubernetes, cni, workloads); got ${describe(value)}`;
  }
  if (type === 'string' && (typeof value === 'number' || typeof value === 'boolean') && written !== undefined) {
    return `must be text, but YAML reads unquoted ${written} as ${describe(value)}: quote it, ${key}: "${written}"`;
  }
  if ((type === 'integer' || type === 'number') && typeof value === 'string' && /^-?[0-9]+(\.[0-9]+)?$/.test(value)) {
    return `must be ${want}, not text: remove the quotes, ${key}: ${value}`;
  }
  if (type === 'boolean' && typeof value === 'string') {
    return `must be true or false; got ${describe(value)} (YAML 1.2 reads yes/no/on/off as text)`;
  }
  return `must be ${want}; got ${describe(value)}`;
}
