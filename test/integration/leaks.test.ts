// Nothing leaked, nothing clobbered (issue 14), end to end through the CLI as root: every
// item reproduced, each followed by an exact inventory (namespaces, daemons, files under
// the tool's directories, /etc/frr and /var/run/frr, the host's network) that must be
// empty after `down`. The randomised long version is test/stress (npm run test:stress).
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile, writeFile, truncate, mkdir, stat, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mainJs, root } from '../cli/helpers.js';
import { alive, baseline, daemonPids, leaks, processId, stillRunning, type Baseline } from './inventory.js';

const isRoot = process.getuid?.() === 0;
const serial = isRoot ? test.serial : test.serial.skip;

let state = '';
let labs = '';
let base: Baseline;
const env = () => ({ NO_COLOR: '1', FABRIC_LAB_STATE: state });

test.before(async () => {
  if (!isRoot) return;
  state = await mkdtemp(path.join(tmpdir(), 'lk-state-'));
  labs = await mkdtemp(path.join(tmpdir(), 'lk-labs-'));
  base = await baseline();
});

// A failed test must not leave its labs to the next one.
test.afterEach.always(async () => {
  if (!isRoot) return;
  for (const l of ['lk-a', 'lk-b', 'lk-c']) await cli(['down', l]);
});

test.after.always(async () => {
  if (!isRoot) return;
  await rm(labs, { recursive: true, force: true });
  await rm(state, { recursive: true, force: true });
});

/** A shipped lab copied under another name (the file name must match). */
async function labFile(from: string, name: string): Promise<string> {
  const file = path.join(labs, `${name}.yaml`);
  await writeFile(file, (await readFile(path.join(root, 'labs', `${from}.yaml`), 'utf8')).replace(/^name: .*$/m, `name: ${name}`));
  return file;
}

/** The CLI as a user runs it (text output). */
function cli(args: string[], o: { input?: Buffer | string } = {}) {
  return execa('node', [mainJs, ...args], { reject: false, env: env(), cwd: root, ...(o.input !== undefined ? { input: o.input } : { stdin: 'ignore' as const }) });
}

/** The CLI with its stdout as raw bytes. */
async function cliBytes(args: string[], input?: Buffer): Promise<{ exitCode?: number; stdout: Buffer; stderr: string }> {
  const r = await execa('node', [mainJs, ...args], { reject: false, env: env(), cwd: root, encoding: 'buffer', stripFinalNewline: false, ...(input ? { input } : { stdin: 'ignore' as const }) });
  return { exitCode: r.exitCode, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr).toString() };
}

async function clean(t: ExecutionContext, what: string): Promise<void> {
  t.deepEqual(await leaks('lk-', state, base), [], `leftovers after ${what}`);
}

serial('exec: binary stdout byte for byte, stdin passed, last newline kept, exit codes (7, 127 missing)', async (t) => {
  const file = await labFile('bridge-static', 'lk-a');
  t.is((await cli(['up', file, '--no-verify'])).exitCode, 0);
  const bytes = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 256));
  const cat = await cliBytes(['exec', 'lk-a', 'k8s-master', '--', 'cat'], bytes);
  t.is(cat.exitCode, 0);
  t.true(Buffer.compare(cat.stdout, bytes) === 0, `got ${cat.stdout.length} bytes`);
  const echo = await cli(['exec', 'lk-a', 'k8s-master', '--', 'cat'], { input: 'hi\n' });
  t.is(echo.stdout, 'hi'); // execa strips one final newline: check the raw bytes too
  const raw = await cliBytes(['exec', 'lk-a', 'k8s-master', '--', 'printf', 'a\\n\\n']);
  t.deepEqual([...raw.stdout], [0x61, 0x0a, 0x0a]);
  t.is((await cli(['exec', 'lk-a', 'k8s-master', '--', 'sh', '-c', 'exit 7'])).exitCode, 7);
  const missing = await cli(['exec', 'lk-a', 'k8s-master', '--', 'no-such-command']);
  t.is(missing.exitCode, 127, missing.stderr);
  // The command dies with the CLI, even on SIGKILL.
  const sleeper = cli(['exec', 'lk-a', 'k8s-master', '--', 'sleep', '300']);
  const find = async () => (await execa('pgrep', ['-f', '^sleep 300$'], { reject: false })).stdout.split('\n').filter(Boolean).map(Number);
  for (let i = 0; i < 200 && !(await find()).length; i++) await new Promise((r) => setTimeout(r, 20));
  const procs = (await Promise.all((await find()).map(processId))).filter((x) => x !== undefined);
  t.true(procs.length > 0);
  sleeper.kill('SIGKILL');
  await sleeper;
  // Up to 10 s for the killed child to finish dying (it is sleep 300: one that really
  // outlives the CLI stays). By PID and start time: twice with the whole suite running, a
  // PID alone still named a process after 2 s and then 10 s (pid_max 32768, PIDs reused).
  const running = async () => (await Promise.all(procs.map(stillRunning))).some(Boolean);
  for (let i = 0; i < 500 && await running(); i++) await new Promise((r) => setTimeout(r, 20));
  const left = await Promise.all(procs.map(async (x) => (await stillRunning(x)) ? `${x.pid}: ${(await readFile(`/proc/${x.pid}/status`, 'utf8').catch(() => '')).split('\n').filter((l) => /^(Name|State|PPid):/.test(l)).join(' ')}` : ''));
  t.deepEqual(left.filter(Boolean), [], 'the exec child outlived a SIGKILLed CLI');
  t.is((await cli(['down', 'lk-a'])).exitCode, 0);
  await clean(t, 'exec');
});

serial('capture: missing interface lists them (exit 2); tcpdump options filtered; -w never clobbers; -w - is pcap; summary kept; dies with the CLI', async (t) => {
  const file = await labFile('calico-vxlan', 'lk-b');
  t.is((await cli(['up', file, '--no-verify'])).exitCode, 0);
  const missing = await cli(['capture', 'lk-b', 'leaf1', 'swp9', '-c', '1']);
  t.is(missing.exitCode, 2, missing.stderr);
  t.regex(missing.stderr, /no interface "swp9".*swp1.*swp2/);
  t.notRegex(missing.stderr, /tcpdump:/);
  for (const bad of [['-z', '/tmp/hook.sh'], ['-Z', 'root'], ['-r', '/etc/shadow'], ['-w', '/tmp/x'], ['port', '179', '-w', '/tmp/x'], ['-C', '1']]) {
    const r = await cli(['capture', 'lk-b', 'leaf1', 'swp1', '-c', '1', '--', ...bad]);
    t.is(r.exitCode, 2, `${bad.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /not allowed/);
  }
  const victim = path.join(labs, 'victim.pcap');
  await writeFile(victim, 'precious');
  const over = await cli(['capture', 'lk-b', 'leaf1', 'swp1', '-c', '1', '-w', victim]);
  t.is(over.exitCode, 2);
  t.is(await readFile(victim, 'utf8'), 'precious');
  // BGP keepalives flow on swp1: a few packets arrive within a second or two.
  const forced = await cli(['capture', 'lk-b', 'leaf1', 'swp1', '-c', '2', '-w', victim, '--force', '--', 'tcp', 'port', '179']);
  t.is(forced.exitCode, 0, forced.stderr);
  t.regex(forced.stderr, /2 packets captured/);
  t.is((await readFile(victim)).readUInt32LE(0), 0xa1b2c3d4, 'a pcap file');
  t.is((await stat(victim)).uid, 0);
  const stdout = await cliBytes(['capture', 'lk-b', 'spine-sw1', 'swp2', '-c', '1', '-w', '-']);
  t.is(stdout.exitCode, 0);
  t.is(stdout.stdout.readUInt32LE(0), 0xa1b2c3d4, 'pcap on stdout, on a switch port');
  // tcpdump dies with a SIGKILLed CLI.
  const before = await daemonPids();
  const cap = cli(['capture', 'lk-b', 'leaf1', 'swp1', '--', 'port', '9']);
  let tcpdumps: number[] = [];
  for (let i = 0; i < 200 && !tcpdumps.length; i++) {
    tcpdumps = [...(await daemonPids())].filter(([p, w]) => !before.has(p) && w.startsWith('tcpdump') && w.endsWith(' port 9')).map(([p]) => p);
    await new Promise((r) => setTimeout(r, 20));
  }
  t.true(tcpdumps.length > 0);
  cap.kill('SIGKILL');
  await cap;
  const dumps = (await Promise.all(tcpdumps.map(processId))).filter((x) => x !== undefined);
  const capturing = async () => (await Promise.all(dumps.map(stillRunning))).some(Boolean);
  for (let i = 0; i < 100 && await capturing(); i++) await new Promise((r) => setTimeout(r, 20));
  t.false(await capturing(), 'tcpdump outlived a SIGKILLed CLI');
  t.is((await cli(['down', 'lk-b'])).exitCode, 0);
  await clean(t, 'capture');
});

serial('damaged and hostile state: status of other labs unaffected, down cleans by names and refuses what is not its own', async (t) => {
  const a = await labFile('bridge-static', 'lk-a');
  const b = await labFile('calico-vxlan', 'lk-b');
  t.is((await cli(['up', a, '--no-verify'])).exitCode, 0);
  t.is((await cli(['up', b, '--no-verify'])).exitCode, 0);
  // Hostile records in lk-a's state: lk-b's namespace, a path outside its dirs, a process with
  // no start time and one with its real start time (this test's own sleep).
  const victimDir = path.join(labs, 'victim-dir');
  await mkdir(victimDir);
  await writeFile(path.join(victimDir, 'keep'), 'x');
  const sleep = execa('sleep', ['60']);
  const startTime = (await readFile(`/proc/${sleep.pid}/stat`, 'utf8')).split(') ')[1].split(' ')[19];
  const stateA = path.join(state, 'emulator', 'lk-a', 'state.json');
  const s = JSON.parse(await readFile(stateA, 'utf8'));
  s.namespaces.push('fl_lk-b_leaf1');
  s.paths.push(victimDir, '/etc/frr/fl_lk-b_leaf1', `${state}/emulator/lk-a/../lk-b`);
  s.processes.push({ device: 'x', daemon: 'x', ns: 'x', pid: sleep.pid, startTime: '' }, { device: 'y', daemon: 'y', ns: 'y', pid: sleep.pid, startTime });
  await writeFile(stateA, JSON.stringify(s));
  const down = await cli(['down', 'lk-a']);
  t.is(down.exitCode, 0, down.stderr);
  t.regex(down.stderr, /not deleting namespace "fl_lk-b_leaf1"/);
  t.regex(down.stderr, /not removing ".*victim-dir"/);
  t.regex(down.stderr, /not stopping PID \d+ .*without a start time/);
  t.true(await alive(sleep.pid!), 'a process named in the state but not the lab\'s was killed');
  t.true((await stat(path.join(victimDir, 'keep'))).isFile());
  sleep.kill();
  await sleep.catch(() => undefined);
  const st = JSON.parse((await cli(['status', 'lk-b', '--json'])).stdout);
  t.true(st.devices.length > 10 && st.devices.every((d: { alive: boolean }) => d.alive), 'lk-b untouched');

  // A truncated state file: status (of all and of others) still works, down cleans from names.
  await truncate(path.join(state, 'emulator', 'lk-b', 'state.json'), 10);
  const all = await cli(['status']);
  t.is(all.exitCode, 0, all.stderr);
  t.regex(all.stdout, /lk-b.*damaged/);
  t.notRegex(all.stdout, /all alive/);
  const exec = await cli(['exec', 'lk-b', 'leaf1', '--', 'true']);
  t.is(exec.exitCode, 3);
  t.regex(exec.stderr, /damaged/);
  const downB = await cli(['down', 'lk-b']);
  t.is(downB.exitCode, 0, downB.stderr);
  t.regex(downB.stderr, /damaged/);
  // A damaged registry entry too.
  await clean(t, 'down of damaged state');
  await mkdir(path.join(state, 'labs'), { recursive: true });
  await writeFile(path.join(state, 'labs', 'lk-c.json'), '{"lab": ');
  const st2 = await cli(['status']);
  t.is(st2.exitCode, 0);
  t.regex(st2.stdout, /lk-c.*damaged/);
  t.is((await cli(['down', 'lk-c'])).exitCode, 0);
  await clean(t, 'damaged registry');
});

serial('locking: up while up exits 3 naming the holder; down while up wins and leaves nothing; verify while down says the lab went away', async (t) => {
  const file = await labFile('calico-vxlan', 'lk-b');
  const first = cli(['up', file, '--no-verify']);
  // Wait until the first `up` holds the lock (its holder file exists).
  const holder = path.join(state, 'locks', 'lk-b.holder.json');
  for (let i = 0; i < 500 && !(await stat(holder).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 10));
  const second = await cli(['up', file, '--no-verify']);
  t.is(second.exitCode, 3, second.stderr);
  t.regex(second.stderr, /already being brought up by `lab up lk-b` \(PID \d+/);
  t.is((await first).exitCode, 0, 'the first up is not disturbed');

  // verify while down runs: exit 3, "went away", no failed checks reported.
  const verifying = cli(['verify', 'lk-b', '--json']);
  await new Promise((r) => setTimeout(r, 150));
  const down = await cli(['down', 'lk-b']);
  t.is(down.exitCode, 0, down.stderr);
  const v = await verifying;
  t.true(v.exitCode === 3 || v.exitCode === 0, `verify: ${v.exitCode} ${v.stderr}`);
  if (v.exitCode === 3) t.regex(v.stderr, /went away|being taken down/);
  t.false(await stat(path.join(state, 'artifacts', 'lk-b')).then(() => true, () => false), 'down removes the artifacts');
  await clean(t, 'verify/down');

  // down while up: the up is stopped (130), down exits 0, nothing left.
  const upping = cli(['up', file, '--no-verify']);
  await new Promise<void>((resolve) => upping.stderr!.on('data', (d: Buffer) => { if (/links|daemons/.test(d.toString())) resolve(); }));
  const down2 = await cli(['down', 'lk-b']);
  t.is(down2.exitCode, 0, down2.stderr);
  t.regex(down2.stderr, /stopping `lab up lk-b`/);
  const u = await upping;
  t.true(u.exitCode === 130 || u.exitCode === 0, `up: ${u.exitCode}`);
  await clean(t, 'down while up');
});

serial('SIGHUP and SIGTERM after convergence, during the final verify, remove the lab and exit 130', async (t) => {
  const file = await labFile('calico-vxlan', 'lk-b');
  for (const sig of ['SIGHUP', 'SIGTERM'] as const) {
    const p = cli(['up', file]);
    await new Promise<void>((resolve) => p.stderr!.on('data', (d: Buffer) => { if (/is up/.test(d.toString())) resolve(); }));
    p.kill(sig);
    const r = await p;
    t.is(r.exitCode, 130, `${sig}: ${r.stderr}`);
    await clean(t, `${sig} during verify`);
  }
});
