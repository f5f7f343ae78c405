// A few long-lived shells that start the observers' commands for this process. Every
// spawn from Node forks the whole CLI (a 150 to 400 MB process: page tables, then exec),
// measured at 3.5 to 5 ms of the main thread per exec and 3 of 11 s of a dc-256 verify;
// a shell forks a 1 MB process instead. Each shell runs one request at a time; the pool
// grows to the number of requests in flight (the observation layer bounds them), and an
// idle shell holds neither the event loop nor anything else, and the CLI's exit kills its
// shells (their own process groups).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { shellJoin } from '../batch.js';
import type { ExecResult } from '../types.js';

interface Pending { out: Buffer[]; err: Buffer[]; tails: { out: string; err: string }; end: RegExp; outDone?: number; errDone: boolean; resolve: (r: ExecResult) => void; timer?: NodeJS.Timeout; timedOut?: number }

class Shell {
  private readonly child: ChildProcess;
  private readonly mark: string;
  private seq = 0;
  private pending?: Pending;
  dead = false;

  constructor(private readonly onIdle: (s: Shell) => void, private readonly onDeath: (s: Shell) => void) {
    this.mark = `@@fabric-lab-spawner-${randomBytes(6).toString('hex')}`;
    // Its own process group, so that a request past its time limit is stopped with
    // everything it started (one kill of the group; the shell goes with it). Killed with
    // the CLI too: an exiting CLI takes its shells' groups along.
    this.child = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    live.add(this.child);
    this.child.stdout!.on('data', (b: Buffer) => this.data(b, 'out'));
    this.child.stderr!.on('data', (b: Buffer) => this.data(b, 'err'));
    this.child.stdin!.on('error', () => undefined); // a dead shell is reported by 'close'
    this.child.on('close', () => this.died('the spawner shell exited'));
    this.child.on('error', (e) => this.died(`the spawner shell could not start: ${e.message}`));
    this.idle(true);
  }

  /** Hold the event loop only while a request is in flight. */
  private idle(yes: boolean): void {
    const streams = [this.child.stdin, this.child.stdout, this.child.stderr] as unknown as ({ ref?: () => void; unref?: () => void } | null)[];
    for (const s of streams) (yes ? s?.unref : s?.ref)?.call(s);
    if (yes) this.child.unref(); else this.child.ref();
  }

  run(argv: string[], timeoutMs?: number): Promise<ExecResult> {
    const id = ++this.seq;
    this.idle(false);
    return new Promise((resolve) => {
      const p: Pending = { out: [], err: [], tails: { out: '', err: '' }, end: new RegExp(`\\n${this.mark} ${id}(?: (\\d+))?\\n$`), errDone: false, resolve };
      this.pending = p;
      if (timeoutMs !== undefined) {
        p.timer = setTimeout(() => { p.timedOut = timeoutMs; this.kill(); }, timeoutMs);
        p.timer.unref();
      }
      // One line: the command (stdin closed), then a marker with its exit code on stdout
      // and a marker on stderr; the shell reads the next request only after both.
      this.child.stdin!.write(`${shellJoin(argv)} </dev/null; printf '\\n${this.mark} ${id} %s\\n' "$?"; printf '\\n${this.mark} ${id}\\n' >&2\n`);
    });
  }

  private data(b: Buffer, stream: 'out' | 'err'): void {
    const p = this.pending;
    if (!p) return;
    (stream === 'out' ? p.out : p.err).push(b);
    // The marker ends the stream (nothing follows it before the next request): look at the
    // last bytes only, however the pipe split them.
    const tail = p.tails[stream] = (p.tails[stream] + b.toString('latin1')).slice(-200);
    const m = p.end.exec(tail);
    if (!m) return;
    if (stream === 'out') p.outDone = Number(m[1]);
    else p.errDone = true;
    if (p.outDone === undefined || !p.errDone) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    const text = (chunks: Buffer[]) => {
      const s = Buffer.concat(chunks).toString('utf8');
      return s.slice(0, s.lastIndexOf(`\n${this.mark} `)).replace(/\r?\n$/, '');
    };
    this.idle(true);
    p.resolve({ stdout: text(p.out), stderr: text(p.err), exitCode: p.outDone });
    this.onIdle(this);
  }

  /** Stop the shell and whatever it runs (its process group). */
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
    // What the command printed before it was stopped, as execa reports a timeout.
    const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
    if (p.timedOut !== undefined) {
      const stderr = text(p.err);
      p.resolve({ stdout: text(p.out), stderr: `${stderr}${stderr ? '\n' : ''}timeout after ${p.timedOut} ms`, exitCode: -1 });
    } else p.resolve({ stdout: '', stderr: why, exitCode: -1 });
  }
}

const idle: Shell[] = [];
const live = new Set<ChildProcess>();
process.on('exit', () => { for (const c of live) { try { process.kill(-c.pid!, 'SIGKILL'); } catch { /* gone */ } } });

/**
 * Run argv (no shell: each word is quoted) from a pooled shell: stdout and stderr without
 * their final newline, the exit code, or -1 and "timeout after N ms" past timeoutMs (the
 * command and its shell are killed), as execa would report them.
 */
export function spawnRun(argv: string[], timeoutMs?: number): Promise<ExecResult> {
  let shell = idle.pop();
  while (shell?.dead) shell = idle.pop();
  shell ??= new Shell(
    (s) => { if (!s.dead) idle.push(s); },
    (s) => { const i = idle.indexOf(s); if (i >= 0) idle.splice(i, 1); },
  );
  return shell.run(argv, timeoutMs);
}
