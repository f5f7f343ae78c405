// Turns ajv's errors into Issues whose messages say what was wrong and what is allowed:
// `unknown key "adress"; allowed: subnet, gateway`, `must be one of: vxlan, bgp, ipip`.
import type { ErrorObject } from 'ajv';
import { allowedKeys, labSchema } from './schema.js';
import type { Issue, Seg } from './positions.js';

/** The YAML way to name a value's kind. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (an empty value)';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  // A short excerpt only: the file may be anything (a password file behind a symlink).
  if (typeof v === 'string') return `the text ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number') return Number.isInteger(v) ? `the number ${v}` : `the decimal number ${v}`;
  return String(v);
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping (key: value lines)', array: 'a list', string: 'text',
  integer: 'a whole number', number: 'a number', boolean: 'true or false',
};

const unescape = (s: string) => s.replace(/~1/g, '/').replace(/~0/g, '~');
const child = (v: unknown, key: string) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined);

/**
 * Decode ajv's instancePath into a path (list indices as numbers, so they print as
 * [1]) and the value found there. Done here rather than with ajv's `verbose` option,
 * which more than doubles the schema's compile time.
 */
function resolveInstance(pointer: string, data: unknown): { path: Seg[]; value: unknown } {
  const path: Seg[] = [];
  let value = data;
  for (const key of pointer.split('/').slice(1).map(unescape)) {
    path.push(Array.isArray(value) ? Number(key) : key);
    value = child(value, key);
  }
  return { path, value };
}

/** The schema object holding the failed keyword ("#/properties/lan/required" -> the lan schema). */
const parentSchemaOf = (schemaPath: string) =>
  schemaPath.split('/').slice(1, -1).map(unescape).reduce<unknown>(child, labSchema) as Record<string, unknown> | undefined;

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
    const { path, value } = resolveInstance(e.instancePath, data);
    const parent = parentSchemaOf(e.schemaPath);
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
        return { path, message: typeMessage(String(p.type), value, sourceOf(path), path) };
      case 'enum':
        return { path, message: `must be one of: ${(p.allowedValues as unknown[]).join(', ')}; got ${describe(value)}` };
      case 'pattern':
      case 'maxLength':
        return { path, message: `${String(parent?.hint ?? `must match ${String(p.pattern)}`)}; got ${describe(value)}` };
      case 'minimum':
      case 'maximum':
        return { path, message: `must be between ${parent?.minimum} and ${parent?.maximum}; got ${value}` };
      case 'minItems':
        return { path, message: `needs at least ${p.limit} ${p.limit === 1 ? 'entry' : 'entries'}; got ${(value as unknown[]).length}` };
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
