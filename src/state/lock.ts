// One lock per lab (per lab key once instances exist), taken by every command that changes
// a lab: up, down, and later fault, policy, checkpoint. The lock is the kernel's flock(2) on
// <state root>/locks/<key>.lock, held by a tiny helper process (`cat` reading a pipe from
// this CLI): it is released when the CLI ends in any way, SIGKILL included, so a lock can
// never be stale. The helper runs in its own session, so a Ctrl-C in the terminal does not
// release the lock while the CLI is still cleaning up. Who holds it (PID, start time,
// command) is written beside it, for messages and for `down` to stop an `up` in progress.
//
// The lock file is removed on release (while still held); a waiter that then wins the lock
// on the removed file notices (inode check) and takes the lock on the new file instead.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { stateRoot } from '../paths.js';
import { checkFields, readJson, removeJson, writeJsonAtomic } from './json-file.js';

export interface LockHolder { pid: number; startTime: string; command: string; since: string }

export interface LabLock {
  readonly key: string;
  release(): Promise<void>;
}

const locksDir = () => path.join(stateRoot, 'locks');
const lockFile = (key: string) => path.join(locksDir(), `${key}.lock`);
const holderFile = (key: string) => path.join(locksDir(), `${key}.holder.json`);

/** /proc start time of a PID (field 22), or undefined when there is no such (live) process. */
export async function startTimeOf(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return undefined;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return rest[0] === 'Z' || rest[0] === 'X' ? undefined : rest[19];
}

/** The recorded holder, if that process is still alive (same PID and start time). */
export async function lockHolder(k: string): Promise<LockHolder | undefined> {
  const r = await readJson<LockHolder>(holderFile(k), (v) => checkFields(v, { pid: 'number', startTime: 'string', command: 'string', since: 'string' }));
  if (r.kind !== 'ok' || !r.value.startTime) return undefined;
  return (await startTimeOf(r.value.pid)) === r.value.startTime ? r.value : undefined;
}

/** The holder, waiting up to HOLDER_WAIT_MS for a lock just won to say who holds it. */
const HOLDER_WAIT_MS = 500;
async function holderSoon(key: string): Promise<LockHolder | undefined> {
  const deadline = Date.now() + HOLDER_WAIT_MS;
  for (;;) {
    const h = await lockHolder(key);
    if (h || Date.now() > deadline) return h;
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const describeHolder = (h: LockHolder | undefined) =>
  h ? `\`lab ${h.command}\` (PID ${h.pid}, since ${h.since})` : 'another fabric-lab command';

// Exit codes of the helper script.
const BUSY = 75;
const MOVED = 76;
const SCRIPT = [
  'exec 9>>"$1" || exit 1',
  'flock $2 9 || exit 75',
  // The file we locked must still be the one at the path (a releasing holder removes it).
  '[ "$(stat -L -c %d:%i /proc/self/fd/9)" = "$(stat -c %d:%i "$1" 2>/dev/null)" ] || exit 76',
  'echo locked',
  'exec cat >/dev/null',
].join('\n');

interface Attempt { child: ChildProcess; result: Promise<'locked' | 'busy' | 'moved' | 'error'> }

function attempt(file: string, block: boolean): Attempt {
  const child = spawn('sh', ['-c', SCRIPT, 'sh', file, block ? '' : '-n'], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
  const result = new Promise<'locked' | 'busy' | 'moved' | 'error'>((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('locked')) resolve('locked'); });
    child.on('error', () => resolve('error'));
    child.on('exit', (code) => resolve(code === BUSY ? 'busy' : code === MOVED ? 'moved' : 'error'));
  });
  return { child, result };
}

export interface AcquireOptions {
  /** The command taking the lock, as the user typed it after `lab` (e.g. "up calico-vxlan"). */
  command: string;
  /** Called when another command holds the lock: wait for it, or fail (the callback may throw). */
  onBusy?: (holder: LockHolder | undefined) => Promise<'wait'> | 'wait';
  /** Stop waiting (e.g. Ctrl-C): the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Take the lab's lock; by default wait for the holder to finish. */
export async function acquireLabLock(k: string, o: AcquireOptions): Promise<LabLock> {
  const key = k;
  await mkdir(locksDir(), { recursive: true });
  let block = false;
  for (;;) {
    o.signal?.throwIfAborted();
    const a = attempt(lockFile(key), block);
    const onAbort = () => a.child.kill('SIGKILL');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const r = await a.result;
    o.signal?.removeEventListener('abort', onAbort);
    if (r === 'locked') {
      if (o.signal?.aborted) { a.child.stdin!.end(); o.signal.throwIfAborted(); }
      return held(key, a.child, o.command);
    }
    if (r === 'moved') continue; // locked a file that was just removed: take the new one
    if (r === 'error') {
      o.signal?.throwIfAborted();
      throw new Error(`could not take the lock ${lockFile(key)} (flock)`);
    }
    // busy: the holder writes who it is right after it wins the lock; give it that moment.
    if (!block) await (o.onBusy ?? (() => 'wait'))(await holderSoon(key));
    block = true;
  }
}

async function held(key: string, child: ChildProcess, command: string): Promise<LabLock> {
  // Do not keep the CLI alive for the helper; it ends when our end of the pipe closes.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  const startTime = (await startTimeOf(process.pid)) ?? '';
  await writeJsonAtomic(holderFile(key), { pid: process.pid, startTime, command, since: new Date().toISOString() } satisfies LockHolder);
  let released = false;
  return {
    key,
    async release() {
      if (released) return;
      released = true;
      await removeJson(holderFile(key));
      await removeJson(lockFile(key));
      const gone = new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
      child.ref(); // keep the CLI alive until the helper has let go of the lock
      child.stdin!.end();
      await gone;
    },
  };
}

/** Run fn holding the lab's lock. */
export async function withLabLock<T>(k: string, o: AcquireOptions, fn: (lock: LabLock) => Promise<T>): Promise<T> {
  const lock = await acquireLabLock(k, o);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}
