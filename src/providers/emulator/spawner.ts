// A few long-lived shells that start the observers' commands for this process. Every
// spawn from Node forks the whole CLI (a 150 to 400 MB process: page tables, then exec),
// measured at 3.5 to 5 ms of the main thread per exec and 3 of 11 s of a dc-256 verify;
// a shell forks a 1 MB process instead. Each shell runs one request at a time; the pool
// grows to the number of requests in flight (the observation layer bounds them), and an
// idle shell holds neither the event loop nor anything else: when the CLI exits, its
// shells read end of file and exit too.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { ExecResult } from '../types.js';

const SAFE_WORD = /^[A-Za-z0-9_\/.,:=+@%^-]+$/;
const quote = (arg: string) => (SAFE_WORD.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

/** `timeout`'s exit codes when the limit passed (TERM, then KILL a second later). */
const TIMED_OUT = new Set([124, 137]);

interface Pending { out: Buffer[]; err: Buffer[]; tails: { out: string; err: string }; outDone?: number; errDone: boolean; resolve: (r: ExecResult) => void; started: number; timeoutMs?: number }

class Shell {
  private readonly child: ChildProcess;
  private readonly mark: string;
  private seq = 0;
  private pending?: Pending;
  dead = false;

  constructor(private readonly onIdle: (s: Shell) => void, private readonly onDeath: (s: Shell) => void) {
    this.mark = `@@fabric-lab-spawner-${randomBytes(6).toString('hex')}`;
    this.child = spawn('sh', ['-s'], { stdio: ['pipe', 'pipe', 'pipe'] });
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
      this.pending = { out: [], err: [], tails: { out: '', err: '' }, errDone: false, resolve, started: Date.now(), timeoutMs };
      const limit = timeoutMs ? `timeout -k 1 ${Math.max(0.001, timeoutMs / 1000)} ` : '';
      // One line: the command (stdin closed), then a marker with its exit code on stdout
      // and a marker on stderr; the shell reads the next request only after both.
      this.child.stdin!.write(`${limit}${argv.map(quote).join(' ')} </dev/null; printf '\\n${this.mark} ${id} %s\\n' "$?"; printf '\\n${this.mark} ${id}\\n' >&2\n`);
    });
  }

  private data(b: Buffer, stream: 'out' | 'err'): void {
    const p = this.pending;
    if (!p) return;
    (stream === 'out' ? p.out : p.err).push(b);
    // The marker ends the stream (nothing follows it before the next request): look at the
    // last bytes only, however the pipe split them.
    const tail = p.tails[stream] = (p.tails[stream] + b.toString('latin1')).slice(-200);
    const m = new RegExp(`\\n${this.mark} ${this.seq}(?: (\\d+))?\\n$`).exec(tail);
    if (!m) return;
    if (stream === 'out') p.outDone = Number(m[1]);
    else p.errDone = true;
    if (p.outDone === undefined || !p.errDone) return;
    this.pending = undefined;
    const text = (chunks: Buffer[]) => {
      const s = Buffer.concat(chunks).toString('utf8');
      return s.slice(0, s.lastIndexOf(`\n${this.mark} `)).replace(/\r?\n$/, '');
    };
    const r = { stdout: text(p.out), stderr: text(p.err), exitCode: p.outDone };
    const timedOut = p.timeoutMs !== undefined && TIMED_OUT.has(r.exitCode) && Date.now() - p.started >= p.timeoutMs;
    this.idle(true);
    p.resolve(timedOut ? { ...r, stderr: `${r.stderr}${r.stderr ? '\n' : ''}timeout after ${p.timeoutMs} ms`, exitCode: -1 } : r);
    this.onIdle(this);
  }

  private died(why: string): void {
    if (this.dead) return;
    this.dead = true;
    const p = this.pending;
    this.pending = undefined;
    this.onDeath(this);
    if (p) p.resolve({ stdout: '', stderr: why, exitCode: -1 });
  }
}

const idle: Shell[] = [];

/**
 * Run argv (no shell: each word is quoted) from a pooled shell: stdout and stderr without
 * their final newline, the exit code, or -1 and "timeout after N ms" past timeoutMs, as
 * execa would report them.
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
