// A few long-lived helper processes (emulator-configs/exec-server.py) that run the
// observers' commands for this process. Every spawn from Node forks the whole CLI (a 150
// to 400 MB process: page tables, then exec), measured at 3.5 to 5 ms of the main thread
// per exec and 3 of 11 s of a dc-256 verify; and `nsenter --net=NS sh -c SCRIPT` per
// device and round was two programs more than the commands themselves (3.6 ms of CPU, 2,600
// times in a dc-256 `up` with its verify). The helper enters the namespace itself (setns)
// and starts each command directly, streaming what it prints. Each helper runs one request
// at a time; the pool grows to the number of requests in flight (the observation layer
// bounds them); an idle helper holds neither the event loop nor anything else, and the
// CLI's exit kills its helpers (their own process groups).
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { badInput } from '../../errors.js';
import { repoRoot } from '../../paths.js';
import type { ExecResult } from '../types.js';

const SERVER = path.join(repoRoot, 'emulator-configs', 'exec-server.py');

interface Pending {
  id: number; out: Buffer[][]; err: Buffer[][]; codes: (number | undefined)[];
  resolve: (r: ExecResult[]) => void; timer?: NodeJS.Timeout; timedOut?: number; aborted?: boolean;
}

export interface BatchOptions {
  /** Past it the helper and what it runs are killed (see spawnBatch). */
  timeoutMs?: number;
  /** Each command's stdin (undefined: /dev/null). */
  inputs?: (string | undefined)[];
  /** Run none after a command that fails (they end with exit code -1). */
  stopOnFailure?: boolean;
  /** Aborted: the helper and what it runs are killed, the commands end as at a timeout. */
  signal?: AbortSignal;
}

/**
 * Every request in flight on one signal is stopped by ONE listener: a listener per request
 * (as many as the helpers in flight, 8 per CPU for probes) tripped Node's
 * MaxListenersExceededWarning on big labs, printed in the middle of `lab up`.
 */
const aborters = new WeakMap<AbortSignal, Set<() => void>>();
function onAbort(signal: AbortSignal, stop: () => void): () => void {
  let stops = aborters.get(signal);
  if (!stops) {
    const all = new Set<() => void>();
    stops = all;
    aborters.set(signal, all);
    signal.addEventListener('abort', () => { for (const f of [...all]) f(); }, { once: true });
  }
  stops.add(stop);
  return () => void stops.delete(stop);
}

const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');

class Server {
  private readonly child: ChildProcess;
  private seq = 0;
  private pending?: Pending;
  /** Bytes of a header line not yet complete, or the payload a frame still waits for. */
  private head = Buffer.alloc(0);
  private frame?: { into: Buffer[]; left: number };
  private stderr = '';
  dead = false;

  constructor(private readonly onIdle: (s: Server) => void, private readonly onDeath: (s: Server) => void) {
    // Its own process group, so that a request past its time limit is stopped with
    // everything it started (one kill of the group; the helper goes with it). Killed with
    // the CLI too: an exiting CLI takes its helpers' groups along.
    this.child = spawn('/usr/bin/python3', [SERVER], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    live.add(this.child);
    this.child.stdout!.on('data', (b: Buffer) => this.data(b));
    this.child.stderr!.on('data', (b: Buffer) => { this.stderr = (this.stderr + b.toString('utf8')).slice(-2000); });
    this.child.stdin!.on('error', () => undefined); // a dead helper is reported by 'close'
    this.child.on('close', () => this.died(this.stderr.trim().split('\n').pop() || 'the exec helper exited'));
    this.child.on('error', (e) => this.died(`the exec helper could not start: ${e.message}`));
    this.idle(true);
  }

  /** Hold the event loop only while a request is in flight. */
  private idle(yes: boolean): void {
    const streams = [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as ({ ref?: () => void; unref?: () => void } | null)[];
    for (const s of streams) (yes ? s?.unref : s?.ref)?.call(s);
    if (yes) this.child.unref(); else this.child.ref();
  }

  run(ns: string | undefined, commands: string[][], o: BatchOptions): Promise<ExecResult[]> {
    const id = ++this.seq;
    this.idle(false);
    return new Promise((resolve) => {
      const n = commands.length;
      const p: Pending = { id, out: Array.from({ length: n }, () => []), err: Array.from({ length: n }, () => []), codes: Array.from({ length: n }, () => undefined), resolve };
      this.pending = p;
      if (o.timeoutMs !== undefined) {
        p.timer = setTimeout(() => { p.timedOut = o.timeoutMs; this.kill(); }, o.timeoutMs);
        p.timer.unref();
      }
      if (o.signal) {
        const forget = onAbort(o.signal, () => { if (this.pending === p) { p.aborted = true; this.kill(); } });
        const done = p.resolve;
        p.resolve = (r) => { forget(); done(r); };
      }
      const inputs = o.inputs?.map((x) => x ?? null);
      this.child.stdin!.write(JSON.stringify({ id, ns: ns ?? null, cmds: commands, ...(inputs ? { inputs } : {}), ...(o.stopOnFailure ? { stopOnFailure: true } : {}) }) + '\n');
    });
  }

  private data(b: Buffer): void {
    while (b.length) {
      if (this.frame) {
        const take = Math.min(this.frame.left, b.length);
        this.frame.into.push(b.subarray(0, take));
        this.frame.left -= take;
        b = b.subarray(take);
        if (!this.frame.left) this.frame = undefined;
        continue;
      }
      const nl = b.indexOf(10);
      if (nl < 0) { this.head = Buffer.concat([this.head, b]); return; }
      const line = Buffer.concat([this.head, b.subarray(0, nl)]).toString('latin1');
      this.head = Buffer.alloc(0);
      b = b.subarray(nl + 1);
      this.header(line);
    }
  }

  private header(line: string): void {
    const [kind, id, i, n] = line.split(' ');
    const p = this.pending;
    if (!p || Number(id) !== p.id) return;
    if (kind === '@O' || kind === '@X') {
      this.frame = { into: (kind === '@O' ? p.out : p.err)[Number(i)], left: Number(n) };
      if (!this.frame.left) this.frame = undefined;
    } else if (kind === '@C') {
      p.codes[Number(i)] = Number(n);
    } else if (kind === '@E') {
      this.pending = undefined;
      clearTimeout(p.timer);
      this.idle(true);
      p.resolve(p.codes.map((code, k) => ({ stdout: text(p.out[k]), stderr: text(p.err[k]), exitCode: code ?? -1 })));
      this.onIdle(this);
    }
  }

  /** Stop the helper and whatever it runs (its process group). */
  kill(): void {
    try { process.kill(-this.child.pid!, 'SIGKILL'); } catch { /* gone already */ }
  }

  private died(why: string): void {
    if (this.dead) return;
    this.dead = true;
    live.delete(this.child);
    const p = this.pending;
    this.pending = undefined;
    this.onDeath(this);
    if (!p) return;
    clearTimeout(p.timer);
    // The commands that ended keep their results; the one stopped keeps what it printed,
    // as execa reports a timeout; those never started say why.
    const reason = p.timedOut !== undefined ? `timeout after ${p.timedOut} ms` : p.aborted ? 'stopped (interrupted)' : why;
    p.resolve(p.codes.map((code, k) => {
      if (code !== undefined) return { stdout: text(p.out[k]), stderr: text(p.err[k]), exitCode: code };
      const stderr = text(p.err[k]);
      return { stdout: text(p.out[k]), stderr: `${stderr}${stderr ? '\n' : ''}${reason}`, exitCode: -1 };
    }));
  }
}

const idle: Server[] = [];
const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } } });

/**
 * Run commands one after the other from a pooled helper, in the network namespace `ns`
 * (a file under /var/run/netns; undefined: this process's): for each, stdout and stderr
 * without their final newline and the exit code, as execa would report them. Past
 * timeoutMs the helper and what it runs are killed: the command stopped keeps what it
 * printed, with "timeout after N ms" and exit code -1, like those that never ran.
 */
export function spawnBatch(ns: string | undefined, commands: string[][], options: BatchOptions = {}): Promise<ExecResult[]> {
  if (!commands.length) return Promise.resolve([]);
  if (commands.some((argv) => !argv.length)) throw badInput('exec: an empty command');
  if (commands.some((argv) => argv.some((a) => a.includes('\0')))) throw badInput('a command argument contains a NUL byte');
  // Before a helper is taken: one taken and not run would never go back to the pool.
  if (options.signal?.aborted) return Promise.resolve(commands.map(() => ({ stdout: '', stderr: 'stopped (interrupted)', exitCode: -1 })));
  let server = idle.pop();
  while (server?.dead) server = idle.pop();
  server ??= new Server(
    (s) => { if (!s.dead) idle.push(s); },
    (s) => { const i = idle.indexOf(s); if (i >= 0) idle.splice(i, 1); },
  );
  return server.run(ns, commands, options);
}

/** One command (argv, no shell) in this process's namespace, as spawnBatch runs it. */
export async function spawnRun(argv: string[], timeoutMs?: number): Promise<ExecResult> {
  return (await spawnBatch(undefined, [argv], { timeoutMs }))[0];
}
