// Lab file -> validated Lab with defaults applied. Every problem of a file is collected
// and reported at once, each as `file:line:col  path.to.field  message` (LabFileError,
// exit 2); whatever the input, the user never sees a stack trace.
import { open, readdir } from 'node:fs/promises';
import { constants, type Stats } from 'node:fs';
import path from 'node:path';
import { isAlias, isScalar, visit, type Node } from 'yaml';
import type { Lab } from './types.js';
import { labsDir } from '../paths.js';
import { badInput, LabError, LabFileError, type Problem } from '../errors.js';
import { formatPath, locate, parseYaml, sourceText, type Issue, type Parsed } from './positions.js';
import type { ValidateFunction } from 'ajv';
import generatedValidator from './lab-validator.generated.js';
import { shapeIssues, closest } from './shape-errors.js';
import { checkLab } from './checks.js';
import { obj, view } from './raw.js';
import { applyDefaults } from './defaults.js';

/** labSchema (schema.ts), compiled ahead of time. */
const validateLabShape = generatedValidator as unknown as ValidateFunction;
import { resolveLabFile } from './ref.js';

export { resolveLabFile };

export async function loadLab(ref: string): Promise<Lab> {
  const file = resolveLabFile(ref);
  return parseLab(await readLabFile(file, ref), file);
}

/** Names of the labs in `dir` (labs/NAME.yaml), sorted. */
export async function labNames(dir = labsDir): Promise<string[]> {
  const files = await readdir(dir).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
}

/**
 * The bytes of a lab file: a regular file only (a FIFO, device or directory is refused
 * without reading: `/dev/zero` or a pipe must never hang or fill memory), at most
 * MAX_BYTES + 1 bytes read whatever the file claims.
 */
async function readLabFile(file: string, ref: string): Promise<Buffer> {
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore it.
    const fh = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw badInput(`${file} is a directory, not a lab file`);
      if (!st.isFile()) throw badInput(`${file} is not a regular file (${kindOf(st)}): a lab file is a YAML text file`);
      if (st.size > MAX_BYTES) throw badInput(`${file} is ${st.size} bytes, far too large for a lab file (at most ${MAX_BYTES}); is this the right file?`);
      const buf = Buffer.alloc(MAX_BYTES + 1);
      let n = 0;
      for (;;) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (!bytesRead) break;
        n += bytesRead;
        if (n === buf.length) break; // grew while reading: parseLab refuses it as too large
      }
      return buf.subarray(0, n);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof LabError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const names = await labNames();
      const guess = closest(path.basename(ref).replace(/\.ya?ml$/, ''), names);
      throw badInput(`no lab file ${file}${guess ? `; did you mean ${guess}?` : ''}\navailable labs: ${names.join(', ') || `(none in ${labsDir})`}`);
    }
    if (code === 'EISDIR') throw badInput(`${file} is a directory, not a lab file`);
    throw badInput(`cannot read lab file ${file}: ${(err as Error).message}`);
  }
}

const kindOf = (st: Stats) => (st.isFIFO() ? 'a named pipe' : st.isCharacterDevice() ? 'a character device' : st.isBlockDevice() ? 'a block device' : st.isSocket() ? 'a socket' : 'not a file');

/** Lab files are a few hundred bytes; anything this size is the wrong file. */
const MAX_BYTES = 1 << 20;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Validate the contents of a lab file; `file` names it in messages and fixes its expected name. */
export function parseLab(content: Buffer | string, file: string): Lab {
  const shown = displayPath(file);
  const at = (line: number, col: number, p: string, message: string): Problem => ({ file: shown, line, col, path: p, message });
  const buf = typeof content === 'string' ? Buffer.from(content) : content;

  if (buf.length > MAX_BYTES) throw new LabFileError([at(1, 1, '', `${buf.length} bytes is far too large for a lab file (at most ${MAX_BYTES}); is this the right file?`)]);
  const nul = buf.indexOf(0);
  if (nul >= 0) throw new LabFileError([at(1, 1, '', `not a text file (a NUL byte at offset ${nul}); a lab file is YAML text`)]);
  let source: string;
  try {
    source = utf8.decode(buf);
  } catch {
    throw new LabFileError([at(1, 1, '', 'not UTF-8 text; a lab file is YAML text saved as UTF-8')]);
  }

  const parsed = parseYaml(source);
  if (parsed.syntax.length) {
    const problems = parsed.syntax.map((s) => at(s.line, s.col, '', s.message));
    // Not even a lab (no top-level lab key anywhere): the first problem only, not one per line of the file.
    if (problems.length > 1 && !LAB_KEY_LINE.test(source)) {
      throw new LabFileError([{ ...problems[0], message: `${problems[0].message} (and ${problems.length - 1} more; this does not look like a lab file)` }]);
    }
    throw new LabFileError(problems);
  }
  const oddKeys = complexKeys(parsed);
  if (oddKeys.length) throw new LabFileError(oddKeys.map(({ line, col }) => at(line, col, '', 'a key must be a plain word like "name", not a list or mapping')));
  let data: unknown;
  try {
    data = parsed.doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Only aliases make toJS throw (unknown anchor, alias bomb): point at the first one.
    const { line, col } = firstAlias(parsed);
    throw new LabFileError([at(line, col, '', `YAML: ${(err as Error).message}`)]);
  }

  if (data === null || data === undefined) {
    throw new LabFileError([at(1, 1, '', 'the file is empty: a lab needs at least name and a fabric or lan section (see labs/README.md)')]);
  }
  // A file that is not even a lab (a password file, a log...) gets one short problem: its
  // contents are never echoed beyond a short excerpt.
  const notLab = notALab(data);
  if (notLab) throw new LabFileError([at(1, 1, '', notLab)]);
  const issues: Issue[] = [];
  if (!validateLabShape(data)) {
    issues.push(...shapeIssues(validateLabShape.errors ?? [], data, (p) => sourceText(parsed, source, p)));
  }
  const root = obj(data);
  if (root) issues.push(...checkLab(view(root), path.basename(file).replace(/\.ya?ml$/, '')));
  if (issues.length) throw new LabFileError(position(issues, parsed, at));
  return applyDefaults(data, file);
}

const LAB_KEYS = ['name', 'description', 'fabric', 'lan', 'kubernetes', 'cni', 'workloads'];
const LAB_KEY_LINE = new RegExp(`^(${LAB_KEYS.join('|')})\\s*:`, 'm');
const EXCERPT = 40;

/** Why the data does not look like a lab file at all (undefined when it does). */
function notALab(data: unknown): string | undefined {
  const excerpt = (v: unknown) => {
    const text = (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v)).split('\n')[0];
    return text.length > EXCERPT ? `${text.slice(0, EXCERPT)}…` : text;
  };
  // Scalars and lists get the shape check's own short message.
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const what = 'this does not look like a lab file (a YAML mapping with name and fabric or lan; see labs/README.md)';
  const keys = Object.keys(data);
  if (!keys.some((k) => LAB_KEYS.includes(k))) return `${what}: its first key is ${JSON.stringify(excerpt(keys[0] ?? ''))}`;
  return undefined;
}

function position(issues: Issue[], parsed: Parsed, at: (l: number, c: number, p: string, m: string) => Problem): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  for (const issue of issues) {
    const { line, col } = locate(parsed, issue.path, issue.at);
    const p = at(line, col, formatPath(issue.path), issue.message);
    const key = `${line}:${col}:${p.path}:${p.message}`;
    if (!seen.has(key)) { seen.add(key); problems.push(p); }
  }
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** Keys that are lists, mappings or aliases (`? [a, b]: x`): plain objects cannot hold them. */
function complexKeys(parsed: Parsed): { line: number; col: number }[] {
  const found: { line: number; col: number }[] = [];
  visit(parsed.doc, {
    Pair(_, pair) {
      const key = pair.key as Node | null;
      if (key && !isScalar(key)) found.push(parsed.lines.linePos(key.range?.[0] ?? 0));
    },
  });
  return found;
}

function firstAlias(parsed: Parsed): { line: number; col: number } {
  let offset = 0;
  visit(parsed.doc, { Alias(_, node) { if (isAlias(node) && node.range) { offset = node.range[0]; return visit.BREAK; } } });
  return parsed.lines.linePos(offset);
}

/** Relative to the working directory when the file is under it (shorter, still clickable). */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}
