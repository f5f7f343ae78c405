// The ssh2 executor against a real OpenSSH server, started by this test in its own
// network namespace (reached the way lab VMs are: through the namespace relay).
import test from 'ava';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { LabError, ExitCode } from '../../src/errors.js';
import {
  sshRun, sshExec, shellQuote, shellJoin, closeAllSsh, setSshIdleTimeout, type SshTarget,
} from '../../src/providers/libvirt/ssh.js';

const netns = `fl-ssh-test-${process.pid}`;
const port = 2222;
let dir = '';
let sshd: ResultPromise | undefined;
let target: SshTarget;

async function waitForPort(): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const probe = await execa('ip', ['netns', 'exec', netns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port}`], { reject: false });
    if (probe.exitCode === 0) return;
    await sleep(100);
  }
  throw new Error('sshd did not start listening');
}

test.before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'fl-ssh-'));
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host_key')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'user_key')]);
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'stranger_key')]);
  await execa('cp', [path.join(dir, 'user_key.pub'), path.join(dir, 'authorized_keys')]);
  await writeFile(path.join(dir, 'sshd_config'), [
    `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${dir}/host_key`,
    `AuthorizedKeysFile ${dir}/authorized_keys`, 'StrictModes no', 'UsePAM no',
    'PermitRootLogin prohibit-password', 'PasswordAuthentication no', `PidFile ${dir}/sshd.pid`,
    // Fewer sessions per connection than the client opens at once (OpenSSH's default is
    // 10): the tests below then also prove that a refused channel waits, not fails.
    'LogLevel ERROR', 'UseDNS no', 'MaxSessions 4', '',
  ].join('\n'));
  await mkdir('/run/sshd', { recursive: true });
  await execa('ip', ['netns', 'add', netns]);
  await execa('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  sshd = execa('ip', ['netns', 'exec', netns, '/usr/sbin/sshd', '-D', '-e', '-f', path.join(dir, 'sshd_config')], { reject: false });
  await waitForPort();
  target = { name: 'testbox', host: '127.0.0.1', port, user: 'root', privateKeyPath: path.join(dir, 'user_key'), netns };
});

test.after.always(async () => {
  await closeAllSsh();
  if (sshd?.pid) {
    process.kill(sshd.pid, 'SIGTERM');
    await sshd;
  }
  await execa('ip', ['netns', 'del', netns], { reject: false });
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('runs a command: stdout and exit code 0', async (t) => {
  const r = await sshExec(target, ['uname', '-s']);
  t.is(r.exitCode, 0);
  t.is(r.stdout, 'Linux\n');
  t.is(r.stderr, '');
});

test('reports a non-zero exit code and stderr', async (t) => {
  const r = await sshExec(target, ['sh', '-c', 'echo out; echo oops >&2; exit 3']);
  t.is(r.exitCode, 3);
  t.is(r.stdout, 'out\n');
  t.is(r.stderr, 'oops\n');
});

test('a command killed by a signal reports 128 + signal number', async (t) => {
  const r = await sshExec(target, ['sh', '-c', 'kill -TERM $$']);
  t.is(r.exitCode, 143);
});

test('every argument reaches the far side unchanged (no shell injection)', async (t) => {
  const args = ['a b', "it's", '$(touch /tmp/fl-pwned)', '; echo injected', '*', '', 'tab\there', 'new\nline', '"dq"', '\\'];
  const r = await sshExec(target, ['printf', '%s\\n', ...args]);
  t.is(r.exitCode, 0);
  t.is(r.stdout, args.map((a) => `${a}\n`).join(''));
  const pwned = await execa('test', ['-e', '/tmp/fl-pwned'], { reject: false });
  t.not(pwned.exitCode, 0);
});

test('shellQuote leaves plain words alone and rejects NUL', (t) => {
  t.is(shellJoin(['vtysh', '-c', 'show bgp summary json']), "vtysh -c 'show bgp summary json'");
  t.is(shellQuote(''), "''");
  t.is(shellQuote("a'b"), `'a'\\''b'`);
  const err = t.throws(() => shellQuote('a\0b'), { instanceOf: LabError });
  t.is(err?.exitCode, ExitCode.badInput);
});

test('input goes to stdin', async (t) => {
  const r = await sshExec(target, ['tr', 'a-z', 'A-Z'], { input: 'hello\n' });
  t.is(r.stdout, 'HELLO\n');
});

test('a command that outlives timeoutMs is cut off with exit code -1', async (t) => {
  const started = Date.now();
  const r = await sshExec(target, ['sleep', '31.5'], { timeoutMs: 300 });
  t.is(r.exitCode, -1);
  t.regex(r.stderr, /timeout: `sleep 31.5` still running after 300 ms/);
  // Cut off, not run for 31.5 s (the bound leaves room for a loaded host's slow start).
  t.true(Date.now() - started < 10_000);
  const left = await execa('pgrep', ['-fx', 'sleep 31.5'], { reject: false });
  t.is(left.stdout, '', 'the remote command is stopped too');
});

test('a command that exits 124 by itself within timeoutMs keeps its exit code', async (t) => {
  const r = await sshExec(target, ['sh', '-c', 'echo timeout: sending signal TERM to command sh >&2; exit 124'], { timeoutMs: 20_000 });
  t.is(r.exitCode, 124);
});

test('more commands at once than the server allows sessions: all of them run, none is cut', async (t) => {
  const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => sshExec(target, ['sh', '-c', `sleep 0.2; echo ${i}; kill -TERM $$`])));
  t.deepEqual(rs.map((r) => r.exitCode), rs.map(() => 143));
  t.deepEqual(rs.map((r) => r.stdout), rs.map((_, i) => `${i}\n`));
});

test('closeStdinOn keeps stdin open until the signal', async (t) => {
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 300);
  const started = Date.now();
  const r = await sshExec(target, ['sh', '-c', 'read -r line; echo "eof after $line"'], { closeStdinOn: stop.signal });
  t.true(Date.now() - started >= 250);
  t.is(r.exitCode, 0);
  t.is(r.stdout, 'eof after \n');
});

test('an abort signal stops a running command', async (t) => {
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 200);
  const r = await sshExec(target, ['sleep', '3'], { signal: abort.signal });
  t.is(r.exitCode, -1);
  t.regex(r.stderr, /aborted/);
});

test('streams stdout chunks as they arrive', async (t) => {
  const seen: string[] = [];
  await sshExec(target, ['sh', '-c', 'echo one; sleep 0.2; echo two'], { onStdout: (c) => seen.push(c.toString()) });
  t.deepEqual(seen.join('').split('\n').filter(Boolean), ['one', 'two']);
  t.true(seen.length >= 2);
});

const clientPort = async () => (await sshRun(target, 'echo $SSH_CONNECTION')).stdout.split(' ')[1];

test.serial('consecutive commands share one connection; an idle one is closed and reopened', async (t) => {
  setSshIdleTimeout(300);
  try {
    const first = await clientPort();
    t.is(await clientPort(), first);
    const parallel = await Promise.all([clientPort(), clientPort(), clientPort()]);
    t.deepEqual(parallel, [first, first, first]);
    await sleep(600);
    t.not(await clientPort(), first);
  } finally {
    setSshIdleTimeout(1500);
  }
});

test('a closed port: LabError (exit 3) naming the target, after retries within the deadline', async (t) => {
  const started = Date.now();
  // Each attempt starts a relay process in the namespace, which takes over a second on a
  // loaded host: the budget leaves room for several.
  const err = await t.throwsAsync(sshExec({ ...target, port: 2999 }, ['true'], { connectTimeoutMs: 5000 }), { instanceOf: LabError });
  t.is(err?.exitCode, ExitCode.notRunning);
  t.regex(err!.message, new RegExp(`^testbox: cannot reach root@127.0.0.1:2999 in netns ${netns} over SSH \\(\\d+ attempts in [\\d.]+ s\\): .*ECONNREFUSED`));
  t.true(Number(/\((\d+) attempts/.exec(err!.message)![1]) > 1);
  t.true(Date.now() - started < 8000);
});

test('an address with no route in the namespace: clear error', async (t) => {
  const err = await t.throwsAsync(sshExec({ ...target, host: '10.255.255.1' }, ['true'], { connectTimeoutMs: 5000 }), { instanceOf: LabError });
  t.regex(err!.message, /cannot reach root@10\.255\.255\.1:2222 .*ENETUNREACH/);
});

test('a key the server does not accept: login refused at once, no retries', async (t) => {
  const started = Date.now();
  const err = await t.throwsAsync(sshExec({ ...target, privateKeyPath: path.join(dir, 'stranger_key') }, ['true'], { connectTimeoutMs: 20_000 }), { instanceOf: LabError });
  t.regex(err!.message, /SSH login refused for root@127\.0\.0\.1:2222/);
  t.true(Date.now() - started < 5000);
});

test('a missing key file: LabError', async (t) => {
  const err = await t.throwsAsync(sshExec({ ...target, privateKeyPath: path.join(dir, 'nope') }, ['true']), { instanceOf: LabError });
  t.regex(err!.message, /SSH key .*nope is not readable/);
});
