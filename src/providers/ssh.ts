// Runs commands on lab VMs over SSH (ssh2). Connections are pooled per target and closed
// when idle, so verify's many small commands pay for one handshake, and a CLI process
// still exits promptly. Targets behind a network namespace (libvirtd's, where the VMs'
// management network lives) are reached through a tiny TCP relay started inside it:
// Node cannot enter a namespace itself, and routing the VMs' network to the host is
// exactly what the lab must never do.
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { readFile } from 'node:fs/promises';
import { Duplex } from 'node:stream';
import { constants as osConstants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { LabError, ExitCode, badInput } from '../errors.js';
import type { ExecResult } from './types.js';

export interface SshTarget {
  /** Device name, for messages. */
  name: string;
  host: string;
  port: number;
  user: string;
  privateKeyPath: string;
  /** Network namespace from which host:port is reachable; absent: the host's own. */
  netns?: string;
}

export interface SshConnectOptions {
  /** Total time allowed to get a working connection, retries included (default 30 s). */
  connectTimeoutMs?: number;
  /** Time allowed for one attempt, TCP + handshake + login (default 10 s). */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface SshRunOptions extends SshConnectOptions {
  /** Close the channel after this long: exitCode -1 and stderr says timeout. */
  timeoutMs?: number;
  /** Written to the command's stdin, which is then closed. */
  input?: string | Buffer;
  /** Keep stdin open until this signal aborts (a graceful stop the far side can watch for). */
  closeStdinOn?: AbortSignal;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Collect stdout into the result (default true; off for binary streams). */
  collectStdout?: boolean;
}

// ---------------------------------------------------------------- quoting

const SAFE_WORD = /^[A-Za-z0-9_\/.,:=+@%^-]+$/;

/** One argument as a POSIX shell word: the far side of SSH always runs a shell. */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw badInput('a command argument contains a NUL byte');
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export const shellJoin = (argv: string[]): string => argv.map(shellQuote).join(' ');

// ---------------------------------------------------------------- connections

interface Pooled {
  client: Client;
  active: number;
  idleTimer?: NodeJS.Timeout;
  dead: boolean;
}

const pool = new Map<string, Promise<Pooled>>();
let idleMs = 1500;

/** How long an unused connection stays open (tests shorten it). */
export function setSshIdleTimeout(ms: number): void { idleMs = ms; }

const poolKey = (t: SshTarget) => `${t.netns ?? ''}|${t.user}@${t.host}:${t.port}|${t.privateKeyPath}`;
const where = (t: SshTarget) => `${t.user}@${t.host}:${t.port}${t.netns ? ` in netns ${t.netns}` : ''}`;

/** Close every pooled connection now. */
export async function closeAllSsh(): Promise<void> {
  const all = [...pool.values()];
  pool.clear();
  await Promise.all(all.map(async (p) => { try { dispose(await p); } catch { /* never connected */ } }));
}

function dispose(conn: Pooled): void {
  conn.dead = true;
  clearTimeout(conn.idleTimer);
  conn.client.end();
}

// Relay stdin/stdout <-> TCP, run by `ip netns exec` inside the target's namespace.
const RELAY = [
  "const s=require('net').connect(+process.argv[2],process.argv[1]);",
  "s.on('error',e=>{process.stderr.write(e.message);process.exit(2)});",
  "s.on('connect',()=>{process.stdin.pipe(s);s.pipe(process.stdout)});",
  "s.on('close',()=>process.exit(0));",
].join('');

function openNetnsRelay(t: SshTarget): { stream: Duplex; stderr: () => string; kill: () => void } {
  const relay = execa('ip', ['netns', 'exec', t.netns!, process.execPath, '-e', RELAY, t.host, String(t.port)], {
    buffer: false, reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', env: { NODE_OPTIONS: '' },
  });
  let stderr = '';
  relay.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  relay.catch(() => undefined);
  const stream = Duplex.from({ readable: relay.stdout, writable: relay.stdin });
  stream.on('error', () => undefined); // surfaced through the ssh2 client
  return { stream, stderr: () => stderr.trim(), kill: () => { relay.kill(); } };
}

function connectOnce(t: SshTarget, privateKey: Buffer, readyTimeout: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    const relay = t.netns ? openNetnsRelay(t) : undefined;
    const cfg: ConnectConfig = {
      host: t.host, port: t.port, username: t.user, privateKey, readyTimeout,
      keepaliveInterval: 15_000, keepaliveCountMax: 4,
    };
    if (relay) cfg.sock = relay.stream;
    let settled = false;
    client.on('ready', () => { settled = true; resolve(client); });
    client.on('error', (err: Error & { level?: string }) => {
      if (settled) return; // a later error ends the connection; 'close' handles that
      settled = true;
      const detail = relay?.stderr();
      const e = new Error(detail ? `${detail}` : err.message) as Error & { level?: string };
      e.level = err.level;
      client.end();
      relay?.kill();
      reject(e);
    });
    client.on('close', () => {
      relay?.kill();
      if (!settled) { settled = true; reject(new Error(relay?.stderr() || 'connection closed during handshake')); }
    });
    client.connect(cfg);
  });
}

const isAuthFailure = (e: Error & { level?: string }) => e.level === 'client-authentication';

async function connectWithRetry(t: SshTarget, opts: SshConnectOptions): Promise<Client> {
  let privateKey: Buffer;
  try {
    privateKey = await readFile(t.privateKeyPath);
  } catch {
    throw new LabError(`${t.name}: SSH key ${t.privateKeyPath} is not readable; is the lab up?`, ExitCode.notRunning);
  }
  const total = opts.connectTimeoutMs ?? 30_000;
  const started = Date.now();
  let delay = 250;
  let attempts = 0;
  let last: Error = new Error('no attempt made');
  for (;;) {
    opts.signal?.throwIfAborted();
    attempts++;
    const remaining = total - (Date.now() - started);
    try {
      return await connectOnce(t, privateKey, Math.max(1000, Math.min(opts.attemptTimeoutMs ?? 10_000, remaining)));
    } catch (err) {
      last = err as Error;
      if (isAuthFailure(last)) {
        throw new LabError(`${t.name}: SSH login refused for ${where(t)} with key ${t.privateKeyPath}`, ExitCode.notRunning);
      }
    }
    if (Date.now() - started + delay >= total) break;
    await sleep(delay, undefined, { signal: opts.signal });
    delay = Math.min(delay * 2, 4000);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  throw new LabError(
    `${t.name}: cannot reach ${where(t)} over SSH (${attempts} attempts in ${secs} s): ${last.message}`,
    ExitCode.notRunning,
  );
}

async function acquire(t: SshTarget, opts: SshConnectOptions): Promise<Pooled> {
  const key = poolKey(t);
  let entry = pool.get(key);
  if (entry) {
    const conn = await entry.catch(() => undefined);
    if (conn && !conn.dead) return claim(conn);
    if (pool.get(key) === entry) pool.delete(key);
  }
  entry = connectWithRetry(t, opts).then((client) => {
    const conn: Pooled = { client, active: 0, dead: false };
    const forget = () => { conn.dead = true; clearTimeout(conn.idleTimer); if (pool.get(key) === entry) pool.delete(key); };
    client.on('close', forget);
    client.on('end', forget);
    client.on('error', forget);
    return conn;
  });
  pool.set(key, entry);
  entry.catch(() => { if (pool.get(key) === entry) pool.delete(key); });
  return claim(await entry);
}

function claim(conn: Pooled): Pooled {
  clearTimeout(conn.idleTimer);
  conn.active++;
  return conn;
}

function release(conn: Pooled): void {
  conn.active--;
  if (conn.active > 0 || conn.dead) return;
  conn.idleTimer = setTimeout(() => {
    for (const [key, entry] of pool) void entry.then((c) => { if (c === conn) pool.delete(key); }, () => undefined);
    dispose(conn);
  }, idleMs);
}

// ---------------------------------------------------------------- commands

function openChannel(client: Client, command: string): Promise<ClientChannel> {
  return new Promise((resolve, reject) => client.exec(command, (err, ch) => (err ? reject(err) : resolve(ch))));
}

function signalExitCode(name: string | undefined): number {
  const full = name && !name.startsWith('SIG') ? `SIG${name}` : name;
  const n = full ? (osConstants.signals as Record<string, number>)[full] : undefined;
  return n ? 128 + n : -1;
}

// `timeout` exits 124 (TERM) or 137 (KILL after the grace period) when it stops a command.
const TIMEOUT_EXIT = new Set([124, 137]);

function collect(ch: ClientChannel, command: string, opts: SshRunOptions): Promise<ExecResult> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const started = Date.now();
    let exitCode: number | undefined;
    let why = '';
    let done = false;
    const timeoutWhy = () => `timeout: \`${command}\` still running after ${opts.timeoutMs} ms`;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(backstop);
      clearTimeout(hardStop);
      opts.signal?.removeEventListener('abort', onAbort);
      opts.closeStdinOn?.removeEventListener('abort', endStdin);
      if (!why && opts.timeoutMs !== undefined && exitCode !== undefined && TIMEOUT_EXIT.has(exitCode)
        && Date.now() - started >= opts.timeoutMs) why = timeoutWhy();
      let stderr = Buffer.concat(err).toString();
      if (why) stderr += `${stderr && !stderr.endsWith('\n') ? '\n' : ''}${why}\n`;
      resolve({ stdout: Buffer.concat(out).toString(), stderr, exitCode: why ? -1 : (exitCode ?? -1) });
    };
    let hardStop: NodeJS.Timeout | undefined;
    // OpenSSH ignores signal requests and keeps a channel open until its command ends, so
    // closing is best effort: the remote `timeout` wrapper (see sshRun) does the killing.
    const stop = (reason: string) => {
      why = reason;
      ch.close();
      hardStop = setTimeout(finish, 2000);
    };
    const onAbort = () => stop('aborted');
    const endStdin = () => ch.end();
    const backstop = opts.timeoutMs !== undefined ? setTimeout(() => stop(timeoutWhy()), opts.timeoutMs + 5000) : undefined;
    ch.on('data', (d: Buffer) => { if (opts.collectStdout !== false) out.push(d); opts.onStdout?.(d); });
    ch.stderr.on('data', (d: Buffer) => { err.push(d); opts.onStderr?.(d); });
    ch.on('exit', (code: number | null, signal?: string) => { exitCode = code ?? signalExitCode(signal); });
    ch.on('close', finish);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    if (opts.closeStdinOn) {
      if (opts.closeStdinOn.aborted) endStdin();
      else opts.closeStdinOn.addEventListener('abort', endStdin, { once: true });
    } else {
      ch.end(opts.input);
    }
  });
}

/** The command under coreutils `timeout` on the far side, which really stops it. */
function withRemoteTimeout(command: string, timeoutMs: number): string {
  const secs = Math.max(0.1, timeoutMs / 1000).toFixed(3);
  return `timeout -k 2 ${secs} sh -c ${shellQuote(command)}`;
}

/**
 * Run a shell command line on the target (build it with shellJoin). Resolves with the
 * exit code, even when non-zero; throws LabError only when the target cannot be reached.
 */
export async function sshRun(t: SshTarget, command: string, opts: SshRunOptions = {}): Promise<ExecResult> {
  for (let attempt = 1; ; attempt++) {
    const conn = await acquire(t, opts);
    let ch: ClientChannel;
    try {
      ch = await openChannel(conn.client, opts.timeoutMs === undefined ? command : withRemoteTimeout(command, opts.timeoutMs));
    } catch (err) {
      // The pooled connection died before the command started: safe to retry once.
      dispose(conn);
      release(conn);
      if (attempt >= 2) {
        throw new LabError(`${t.name}: SSH connection to ${where(t)} failed: ${(err as Error).message}`, ExitCode.notRunning);
      }
      continue;
    }
    try {
      return await collect(ch, command, opts);
    } finally {
      release(conn);
    }
  }
}

/** Run argv (each argument quoted for the remote shell). */
export const sshExec = (t: SshTarget, argv: string[], opts: SshRunOptions = {}): Promise<ExecResult> =>
  sshRun(t, shellJoin(argv), opts);

/**
 * Run argv with the user's terminal attached (a pty on the far side, raw mode here), for
 * interactive `lab exec`. Output goes straight to the terminal; the result holds only
 * the exit code.
 */
export async function sshInteractive(t: SshTarget, argv: string[], opts: SshConnectOptions = {}): Promise<ExecResult> {
  const conn = await acquire(t, opts);
  const stdin = process.stdin;
  const out = process.stdout;
  const pty = { term: process.env.TERM ?? 'xterm', rows: out.rows ?? 24, cols: out.columns ?? 80 };
  try {
    const ch = await new Promise<ClientChannel>((resolve, reject) =>
      conn.client.exec(shellJoin(argv), { pty }, (err, c) => (err ? reject(err) : resolve(c))));
    const wasRaw = stdin.isTTY ? stdin.isRaw : false;
    if (stdin.isTTY) stdin.setRawMode(true);
    const onResize = () => ch.setWindow(out.rows ?? 24, out.columns ?? 80, 0, 0);
    out.on('resize', onResize);
    stdin.pipe(ch);
    ch.pipe(out, { end: false });
    ch.stderr.pipe(process.stderr, { end: false });
    const exitCode = await new Promise<number>((resolve) => {
      let code = -1;
      ch.on('exit', (c: number | null, signal?: string) => { code = c ?? signalExitCode(signal); });
      ch.on('close', () => resolve(code));
    });
    stdin.unpipe(ch);
    if (stdin.isTTY) stdin.setRawMode(wasRaw);
    stdin.pause();
    out.off('resize', onResize);
    return { stdout: '', stderr: '', exitCode };
  } finally {
    release(conn);
  }
}
