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
import { LabError, ExitCode } from '../../errors.js';
import type { ExecResult } from '../types.js';
import { shellQuote, shellJoin } from '../batch.js';

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

// The far side of SSH always runs a shell: every argument goes as a POSIX shell word.
export { shellQuote, shellJoin } from '../batch.js';

// ---------------------------------------------------------------- connections

interface Pooled {
  client: Client;
  active: number;
  /** Channels open (or being opened) on this connection. */
  channels: number;
  /** Callers waiting for a channel slot. */
  waiting: (() => void)[];
  idleTimer?: NodeJS.Timeout;
  dead: boolean;
}

// OpenSSH refuses a connection's 11th session (MaxSessions 10), and a session whose
// channel we closed lives on until its command exits; stay below that and wait for a slot.
const MAX_CHANNELS = 6;

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
  for (const wake of conn.waiting.splice(0)) wake();
}

// Relay stdin/stdout <-> TCP, run by `ip netns exec` inside the target's namespace.
// It says RELAY_READY on stderr once its TCP connection is up, so the SSH handshake timer
// starts only then: starting a Node process under `ip netns exec` can take more than a
// second on a loaded host, and that is no reason to give up on the handshake.
const RELAY_READY = 'relay-connected\n';
const RELAY = [
  "const s=require('net').connect(+process.argv[2],process.argv[1]);",
  "s.on('error',e=>{process.stderr.write(e.message);process.exit(2)});",
  `s.on('connect',()=>{process.stderr.write(${JSON.stringify(RELAY_READY)});process.stdin.pipe(s);s.pipe(process.stdout)});`,
  "s.on('close',()=>process.exit(0));",
].join('');

interface Relay { stream: Duplex; ready: Promise<'connected' | 'exited'>; stderr: () => string; kill: () => void }

function openNetnsRelay(t: SshTarget): Relay {
  const relay = execa('ip', ['netns', 'exec', t.netns!, process.execPath, '-e', RELAY, t.host, String(t.port)], {
    buffer: false, reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe', env: { NODE_OPTIONS: '' },
  });
  let stderr = '';
  let onReady: (how: 'connected' | 'exited') => void = () => {};
  const ready = new Promise<'connected' | 'exited'>((resolve) => { onReady = resolve; });
  relay.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes(RELAY_READY)) { stderr = stderr.replace(RELAY_READY, ''); onReady('connected'); }
  });
  // An exit before the connection came up: refused, unreachable (its message on stderr).
  relay.then(() => onReady('exited'), () => onReady('exited'));
  const stream = Duplex.from({ readable: relay.stdout, writable: relay.stdin });
  stream.on('error', () => undefined); // surfaced through the ssh2 client
  return { stream, ready, stderr: () => stderr.trim(), kill: () => { relay.kill(); } };
}

async function connectOnce(t: SshTarget, privateKey: Buffer, readyTimeout: number, deadline: number): Promise<Client> {
  const relay = t.netns ? openNetnsRelay(t) : undefined;
  if (relay) {
    // The relay's own start-up counts against the whole connect budget, not the handshake.
    const late = new Promise<'late'>((resolve) => { setTimeout(resolve, Math.max(0, deadline - Date.now()), 'late').unref(); });
    const how = await Promise.race([relay.ready, late]);
    if (how !== 'connected') {
      relay.kill();
      throw new Error(how === 'exited' ? relay.stderr() || 'relay exited'
        : `relay in netns ${t.netns} did not connect in time${relay.stderr() ? `: ${relay.stderr()}` : ''}`);
    }
  }
  return new Promise((resolve, reject) => {
    const client = new Client();
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
  // Every distinct reason, oldest first: a last attempt cut short by the deadline must not
  // hide what the earlier ones learnt (refused, unreachable).
  const reasons: string[] = [];
  for (;;) {
    opts.signal?.throwIfAborted();
    attempts++;
    const remaining = total - (Date.now() - started);
    try {
      const attempt = Math.max(1000, Math.min(opts.attemptTimeoutMs ?? 10_000, remaining));
      return await connectOnce(t, privateKey, attempt, Date.now() + Math.max(attempt, remaining));
    } catch (err) {
      const last = err as Error;
      if (!reasons.includes(last.message)) reasons.push(last.message);
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
    `${t.name}: cannot reach ${where(t)} over SSH (${attempts} attempts in ${secs} s): ${reasons.join('; then ') || 'no attempt made'}`,
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
    const conn: Pooled = { client, active: 0, channels: 0, waiting: [], dead: false };
    const forget = () => {
      conn.dead = true;
      clearTimeout(conn.idleTimer);
      for (const wake of conn.waiting.splice(0)) wake();
      if (pool.get(key) === entry) pool.delete(key);
    };
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

async function takeChannelSlot(conn: Pooled): Promise<void> {
  while (conn.channels >= MAX_CHANNELS && !conn.dead) await new Promise<void>((wake) => conn.waiting.push(wake));
  conn.channels++;
}

function giveChannelSlot(conn: Pooled): void {
  conn.channels--;
  conn.waiting.shift()?.();
}

/** The server refused this one channel (its session limit), the connection itself is fine. */
const channelRefused = (err: Error & { reason?: unknown }, conn: Pooled) => !conn.dead && err.reason !== undefined;

/**
 * Open an exec channel, holding one of the connection's channel slots until `done` is
 * called. A channel the server refuses on a live connection is retried after a pause
 * (never by dropping the connection, which would cut every other command on it).
 */
async function openChannel(conn: Pooled, command: string, opts: { pty?: { term: string; rows: number; cols: number } } = {}, waitMs = 10_000):
  Promise<{ ch: ClientChannel; done: () => void }> {
  const until = Date.now() + waitMs;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    await takeChannelSlot(conn);
    let released = false;
    const done = () => { if (!released) { released = true; giveChannelSlot(conn); } };
    try {
      const ch = await new Promise<ClientChannel>((resolve, reject) =>
        conn.client.exec(command, opts, (err, c) => (err ? reject(err) : resolve(c))));
      return { ch, done };
    } catch (err) {
      done();
      if (!channelRefused(err as Error, conn) || Date.now() + pause > until) throw err;
    }
    await sleep(pause);
  }
}

function signalExitCode(name: string | undefined): number {
  const full = name && !name.startsWith('SIG') ? `SIG${name}` : name;
  const n = full ? (osConstants.signals as Record<string, number>)[full] : undefined;
  return n ? 128 + n : -1;
}

// `timeout --verbose` says so on stderr, as its last words, when it stops the command: the
// only reliable sign, since the command's own exit code may be anything (124 included) and
// the far side's clock started before ours.
const TIMEOUT_SAID = /timeout: sending signal \w+ to command .sh.\n?$/;

function collect(ch: ClientChannel, command: string, opts: SshRunOptions): Promise<ExecResult> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
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
      let stderr = Buffer.concat(err).toString();
      if (opts.timeoutMs !== undefined) {
        // A KILL after the grace period follows a TERM: strip both lines.
        let cut = false;
        while (TIMEOUT_SAID.test(stderr)) { stderr = stderr.replace(TIMEOUT_SAID, ''); cut = true; }
        if (cut && !why) why = timeoutWhy();
      }
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
  return `LC_ALL=C timeout --verbose -k 2 ${secs} sh -c ${shellQuote(command)}`;
}

/**
 * Run a shell command line on the target (build it with shellJoin). Resolves with the
 * exit code, even when non-zero; throws LabError only when the target cannot be reached.
 */
export async function sshRun(t: SshTarget, command: string, opts: SshRunOptions = {}): Promise<ExecResult> {
  for (let attempt = 1; ; attempt++) {
    const conn = await acquire(t, opts);
    let opened: { ch: ClientChannel; done: () => void };
    try {
      opened = await openChannel(conn, opts.timeoutMs === undefined ? command : withRemoteTimeout(command, opts.timeoutMs));
    } catch (err) {
      release(conn);
      const refused = channelRefused(err as Error, conn);
      // The pooled connection died before the command started: safe to retry once on a
      // new one. A connection that is alive but keeps refusing channels is left alone.
      if (!refused) dispose(conn);
      if (refused || attempt >= 2) {
        throw new LabError(`${t.name}: SSH connection to ${where(t)} failed: ${(err as Error).message}`, ExitCode.notRunning);
      }
      continue;
    }
    try {
      return await collect(opened.ch, command, opts);
    } finally {
      opened.done();
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
  let done = () => {};
  try {
    const opened = await openChannel(conn, shellJoin(argv), { pty });
    const ch = opened.ch;
    done = opened.done;
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
    done();
    release(conn);
  }
}
