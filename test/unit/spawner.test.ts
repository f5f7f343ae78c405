// The pooled helpers that start the observers' commands: results as execa gives them.
import test from 'ava';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnBatch, spawnRun } from '../../src/providers/emulator/spawner.js';

const root = path.resolve(import.meta.dirname, '../..');

test('stdout, stderr and exit code, final newline stripped, as execa', async (t) => {
  const r = await spawnRun(['sh', '-c', 'echo out; echo err >&2; exit 3']);
  t.deepEqual(r, { stdout: 'out', stderr: 'err', exitCode: 3 });
  const quiet = await spawnRun(['true']);
  t.deepEqual(quiet, { stdout: '', stderr: '', exitCode: 0 });
  const noNewline = await spawnRun(['printf', 'a\\nb']);
  t.is(noNewline.stdout, 'a\nb');
  const blankLines = await spawnRun(['printf', 'x\\n\\n\\n']);
  t.is(blankLines.stdout, 'x\n\n', 'only one final newline goes, like execa');
});

test('arguments reach the command as words, whatever they contain', async (t) => {
  const args = ["it's", 'a b', '$HOME', '`id`', 'semi;colon', 'new\nline', '"q"', '*'];
  const r = await spawnRun(['printf', '%s|', ...args]);
  t.is(r.stdout, args.map((a) => `${a}|`).join(''));
});

test('big outputs, many at once, and output that looks like a marker', async (t) => {
  const big = await spawnRun(['sh', '-c', 'head -c 3000000 /dev/zero | tr "\\0" x; echo; echo done >&2']);
  t.is(big.stdout.length, 3_000_000);
  t.is(big.stderr, 'done');
  const many = await Promise.all(Array.from({ length: 24 }, (_, i) => spawnRun(['sh', '-c', `echo ${i}; echo e${i} >&2; exit ${i % 5}`])));
  many.forEach((r, i) => t.deepEqual(r, { stdout: String(i), stderr: `e${i}`, exitCode: i % 5 }));
  const fake = await spawnRun(['printf', '\\n@@fabric-lab-spawner-000000000000 1 0\\nafter']);
  t.is(fake.stdout, '\n@@fabric-lab-spawner-000000000000 1 0\nafter');
});

test('a command past its time limit is stopped and reported as execa reports it', async (t) => {
  const r = await spawnRun(['sh', '-c', 'echo $$; echo started >&2; exec sleep 30'], 300);
  t.is(r.exitCode, -1);
  t.is(r.stderr, 'started\ntimeout after 300 ms', 'what it printed, then why it ended');
  const pid = Number(r.stdout);
  t.true(pid > 0);
  // Killed: gone, or a zombie until its new parent reaps it.
  const state = () => { try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0]; } catch { return 'gone'; } };
  t.true(['gone', 'Z'].includes(state()), `the command was killed, not left running (state ${state()})`);
  const fast = await spawnRun(['sh', '-c', 'exit 124'], 5000);
  t.is(fast.exitCode, 124, 'a command that exits 124 in time is not a timeout');
  t.deepEqual(await spawnRun(['echo', 'next']), { stdout: 'next', stderr: '', exitCode: 0 }, 'the shell is usable after a timeout');
});

test('a command that cannot start gives its exit code and complaint', async (t) => {
  const r = await spawnRun(['/nonexistent/cmd']);
  t.is(r.exitCode, 127);
  t.regex(r.stderr, /nonexistent/);
});

test('idle shells do not keep the process alive', async (t) => {
  const script = `import { spawnRun } from ${JSON.stringify(path.join(root, 'src/providers/emulator/spawner.ts'))};
const r = await Promise.all([spawnRun(['echo', 'a']), spawnRun(['echo', 'b'])]);
console.log(r.map((x) => x.stdout).join(''));`;
  // Without unref the child would never exit and ava's timeout would fail this test.
  const r = await execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, timeout: 20_000, reject: false });
  t.is(r.exitCode, 0, r.stderr);
  t.is(r.stdout, 'ab');
});

test('a batch: one result per command in order, a failing or missing command does not stop the rest', async (t) => {
  const r = await spawnBatch(undefined, [['echo', 'one'], ['sh', '-c', 'echo two >&2; exit 2'], ['/nonexistent/cmd'], ['printf', 'four']]);
  t.deepEqual(r[0], { stdout: 'one', stderr: '', exitCode: 0 });
  t.deepEqual(r[1], { stdout: '', stderr: 'two', exitCode: 2 });
  t.is(r[2].exitCode, 127);
  t.regex(r[2].stderr, /nonexistent/);
  t.deepEqual(r[3], { stdout: 'four', stderr: '', exitCode: 0 });
  t.deepEqual(await spawnBatch(undefined, []), []);
  const killed = await spawnBatch(undefined, [['sh', '-c', 'kill -TERM $$']]);
  t.is(killed[0].exitCode, 143, 'a command killed by a signal: 128 + N, as a shell reports it');
});

test('a batch past its time limit: what ended keeps its result, the one stopped what it printed', async (t) => {
  const r = await spawnBatch(undefined, [["echo", "done"], ["sh", "-c", "echo part; echo err >&2; exec sleep 30"], ["echo", "never"]], { timeoutMs: 400 });
  t.deepEqual(r[0], { stdout: 'done', stderr: '', exitCode: 0 });
  t.deepEqual(r[1], { stdout: 'part', stderr: 'err\ntimeout after 400 ms', exitCode: -1 });
  t.deepEqual(r[2], { stdout: '', stderr: 'timeout after 400 ms', exitCode: -1 });
});

test('a namespace that cannot be entered: every command says why, with exit code -1', async (t) => {
  const r = await spawnBatch('/nonexistent/netns', [['true'], ['true']]);
  t.is(r.length, 2);
  for (const x of r) {
    t.is(x.exitCode, -1);
    t.regex(x.stderr, /cannot enter \/nonexistent\/netns/);
  }
  t.deepEqual(await spawnRun(['echo', 'ok']), { stdout: 'ok', stderr: '', exitCode: 0 }, 'the helper goes on serving');
});

test('commands run inside the namespace named, and the next request may name another', async (t) => {
  if (process.getuid?.() !== 0) return t.pass('needs root to make a network namespace');
  const [a, b] = ['a', 'b'].map((x) => `fl-spawner-${process.pid}-${x}`);
  await execa('ip', ['netns', 'add', a]);
  await execa('ip', ['netns', 'add', b]);
  try {
    await execa('ip', ['-n', a, 'link', 'set', 'lo', 'mtu', '1234']);
    const netnsOf = async (ns: string) => (await execa('ip', ['netns', 'exec', ns, 'readlink', '/proc/self/ns/net'])).stdout;
    const inA = await spawnBatch(`/var/run/netns/${a}`, [['ip', '-j', 'link', 'show', 'lo'], ['readlink', '/proc/self/ns/net']]);
    t.is(JSON.parse(inA[0].stdout)[0].mtu, 1234);
    t.is(inA[1].stdout, await netnsOf(a));
    const inB = await spawnBatch(`/var/run/netns/${b}`, [['ip', '-j', 'link', 'show', 'lo'], ['readlink', '/proc/self/ns/net']]);
    t.is(JSON.parse(inB[0].stdout)[0].mtu, 65536, 'the second request is in its own namespace, not the first one\'s');
    t.is(inB[1].stdout, await netnsOf(b));
    t.is((await spawnRun(['readlink', '/proc/self/ns/net'])).stdout, (await execa('readlink', ['/proc/self/ns/net'])).stdout, 'no namespace named: the host\'s again');
  } finally {
    await execa('ip', ['netns', 'del', a]);
    await execa('ip', ['netns', 'del', b]);
  }
});

test('a batch with inputs: each command reads its own, however large; stopOnFailure skips the rest', async (t) => {
  const big = 'x'.repeat(1_000_000) + '\n';
  const r = await spawnBatch(undefined, [['wc', '-c'], ['cat'], ['true']], { inputs: [big, 'small\n', undefined] });
  t.deepEqual(r.map((x) => [x.stdout.trim(), x.exitCode]), [[String(big.length), 0], ['small', 0], ['', 0]]);
  const stopped = await spawnBatch(undefined, [['sh', '-c', 'read l; echo "got $l"; exit 3'], ['echo', 'after']], { inputs: ['line\n', undefined], stopOnFailure: true });
  t.deepEqual(stopped[0], { stdout: 'got line', stderr: '', exitCode: 3 });
  t.is(stopped[1].exitCode, -1);
  t.regex(stopped[1].stderr, /not run: an earlier command failed/);
  const early = await spawnBatch(undefined, [['sh', '-c', 'exec 0<&-; echo closed']], { inputs: ['y'.repeat(500_000)] });
  t.deepEqual(early[0], { stdout: 'closed', stderr: '', exitCode: 0 }, 'a command that does not read its input still ends');
});

test('an aborted batch stops at once, its commands ending as interrupted', async (t) => {
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 200);
  const r = await spawnBatch(undefined, [['sleep', '30'], ['echo', 'never']], { signal: ac.signal });
  t.true(Date.now() - started < 5000);
  t.deepEqual(r.map((x) => x.exitCode), [-1, -1]);
  t.regex(r[1].stderr, /interrupted/);
  t.deepEqual(await spawnBatch(undefined, [['true']], { signal: ac.signal }), [{ stdout: '', stderr: 'stopped (interrupted)', exitCode: -1 }]);
});

test('many batches in flight on one signal: no listener warning, and an abort stops them all', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  try {
    const ac = new AbortController();
    const done = await Promise.all(Array.from({ length: 24 }, (_, i) => spawnBatch(undefined, [['echo', String(i)]], { signal: ac.signal })));
    t.deepEqual(done.map((r) => r[0].stdout), Array.from({ length: 24 }, (_, i) => String(i)));
    const started = Date.now();
    const sleeping = Promise.all(Array.from({ length: 16 }, () => spawnBatch(undefined, [['sleep', '30']], { signal: ac.signal })));
    setTimeout(() => ac.abort(), 300);
    t.deepEqual((await sleeping).map((r) => r[0].exitCode), Array(16).fill(-1));
    t.true(Date.now() - started < 10_000);
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
  }
  t.deepEqual(warnings.filter((w) => w === 'MaxListenersExceededWarning'), []);
});

test('a builtin the helper cannot carry out says why with exit code -1 (could not look, never a lab fault)', async (t) => {
  const [bad, short] = await spawnBatch(undefined, [['@ping', 'x', '0.01', '1', '10.0.0.1'], ['@vty']]);
  t.is(bad.exitCode, -1);
  t.regex(bad.stderr, /^@ping: /);
  t.is(short.exitCode, -1);
  t.regex(short.stderr, /^@vty: /);
});

test('commands get the default SIGPIPE (a writer to a closed pipe dies of it, as under a shell)', async (t) => {
  const [r] = await spawnBatch(undefined, [['grep', 'SigIgn', '/proc/self/status']]);
  const ign = BigInt(`0x${/SigIgn:\s*([0-9a-f]+)/.exec(r.stdout)![1]}`);
  t.is(ign & (1n << 12n), 0n, 'SIGPIPE (13) not ignored');
});
