// The one way fabric-lab keeps state on disk (running-lab registry, emulator state,
// libvirt state): JSON written atomically (temporary file in the same directory, fsync,
// rename, fsync of the directory), so a reader sees the old file or the new one, never
// half of one. Reading never throws for bad contents: a damaged file is a typed result the
// caller reports (and `down` works around), so one broken lab cannot stop commands on others.
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** State files are a few kilobytes; a bigger one is not ours (or is damaged). */
export const MAX_STATE_BYTES = 16 << 20;

export type JsonRead<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'missing' }
  | { kind: 'damaged'; file: string; reason: string };

let tmpCounter = 0;

/** Write `value` as JSON to `file`, atomically and durably. Creates the directory. */
export async function writeJsonAtomic(file: string, value: unknown, mode = 0o644): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${++tmpCounter}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(JSON.stringify(value, null, 2) + '\n');
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const d = await open(dir, 'r').catch(() => undefined);
  await d?.sync().catch(() => undefined);
  await d?.close();
}

/**
 * Read a JSON state file. `check` says whether the parsed value has the expected shape
 * (a string naming what is wrong, or undefined when it is fine).
 */
export async function readJson<T>(file: string, check: (v: unknown) => string | undefined): Promise<JsonRead<T>> {
  let text: string;
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) return { kind: 'damaged', file, reason: 'not a regular file' };
      if (st.size > MAX_STATE_BYTES) return { kind: 'damaged', file, reason: `${st.size} bytes, more than a state file can be` };
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { kind: 'missing' };
    return { kind: 'damaged', file, reason: (e as Error).message };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { kind: 'damaged', file, reason: text.trim() ? `not valid JSON (${(e as Error).message})` : 'empty' };
  }
  const problem = check(value);
  return problem ? { kind: 'damaged', file, reason: problem } : { kind: 'ok', value: value as T };
}

/** Remove a state file (no error if it is already gone). */
export const removeJson = (file: string) => rm(file, { force: true });

// Small shape checks for `check` above.
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** First missing or mistyped field of `v`, as a message (undefined when all are right). */
export function checkFields(v: unknown, fields: Record<string, 'string' | 'boolean' | 'number' | 'array' | 'object' | 'string[]'>): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  for (const [k, type] of Object.entries(fields)) {
    const x = v[k];
    const ok = type === 'array' ? Array.isArray(x) : type === 'string[]' ? isStringArray(x) : type === 'object' ? isObject(x) : typeof x === type;
    if (!ok) return `field "${k}" is ${x === undefined ? 'missing' : 'not a ' + type}`;
  }
  return undefined;
}

