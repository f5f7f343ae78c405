// calico-ipip for real: the lab hosts' kernels have no `ipip` module, so this boots a
// Debian kernel (which has it) under qemu software emulation and runs the emulator inside
// the guest: `lab up calico-ipip`, `lab verify --json` (every check green, IPIP seen on
// the wire), `lab down`, nothing left. The guest image is built and cached by
// scripts/build-ipip-guest.sh; the checkout is shared read-only over 9p and the guest
// reports through a shared results directory (test/ipip/guest-init.sh, guest-run.sh).
// Minutes long: `npm run test:ipip` (root).
import test from 'ava';
import { mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from '../../src/paths.js';

/** The whole guest run (boot, up, verify, down, power off) must end within this. */
const GUEST_LIMIT_S = Number(process.env.FABRIC_LAB_IPIP_TIMEOUT ?? 900);
const LAB = 'calico-ipip';
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** qemu's command line: direct kernel boot, no network, the checkout and results over 9p. */
function qemuArgv(image: string, results: string, shares: { tag: string; dir: string }[]): string[] {
  const virtfs = (tag: string, dir: string, ro: boolean) =>
    ['-virtfs', `local,path=${dir},mount_tag=${tag},security_model=none,id=${tag}${ro ? ',readonly=on' : ''}`];
  return [
    '-nodefaults', '-no-user-config', '-accel', process.env.FABRIC_LAB_QEMU_ACCEL ?? 'tcg', '-cpu', 'max',
    '-m', '2048', '-smp', '2', '-display', 'none', '-monitor', 'none', '-no-reboot', '-snapshot',
    '-serial', `file:${path.join(results, 'console.log')}`, '-pidfile', path.join(results, 'qemu.pid'),
    '-kernel', path.join(image, 'vmlinuz'), '-initrd', path.join(image, 'initrd.img'),
    '-append', 'console=ttyS0 root=/dev/vda rw init=/sbin/fabric-init panic=-1 quiet',
    '-drive', `file=${path.join(image, 'root.img')},format=raw,if=virtio`,
    ...virtfs('results', results, false),
    ...shares.flatMap((s) => virtfs(s.tag, s.dir, true)),
  ];
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

test.serial(`${LAB} in a qemu guest with a real ipip kernel: up, verify green with IPIP on the wire, seed 002's policy truth tables, down leaves nothing`, async (t) => {
  t.timeout((GUEST_LIMIT_S + 600) * 1000);
  if (process.getuid?.() !== 0) return t.fail('needs root (debootstrap, 9p shares): run as root');

  let start = Date.now();
  const build = await execa(path.join(repoRoot, 'scripts/build-ipip-guest.sh'), { stderr: 'inherit' });
  const image = build.stdout.trim().split('\n').pop()!;
  t.log(`guest image ${image}: ${seconds(Date.now() - start)}`);
  // The guest runs ./lab from the read-only checkout: compile here if dist is stale.
  await execa(path.join(repoRoot, 'lab'), ['--version']);

  const results = await mkdtemp(path.join(tmpdir(), 'ip-guest-'));
  const repo = await realpath(repoRoot);
  const modules = await realpath(path.join(repo, 'node_modules'));
  const shares = [{ tag: 'repo', dir: repo }];
  // A node_modules symlinked out of the checkout (worktrees) is shared at its own path.
  const outside = !modules.startsWith(repo + path.sep);
  if (outside) shares.push({ tag: 'modules', dir: modules });
  await writeFile(path.join(results, 'guest.env'),
    `REPO=${shq(repo)}\nMODULES=${outside ? shq(modules) : "''"}\nLAB=${shq(LAB)}\n`);

  start = Date.now();
  // `timeout` ends qemu even if this worker dies; the teardown covers a failing test.
  const qemu = execa('timeout', ['-k', '10', String(GUEST_LIMIT_S), 'qemu-system-x86_64', ...qemuArgv(image, results, shares)],
    { reject: false, stdin: 'ignore' });
  let qemuPid: number | undefined;
  t.teardown(async () => {
    qemu.kill('SIGKILL');
    if (qemuPid && alive(qemuPid)) process.kill(qemuPid, 'SIGKILL');
  });
  const ran = await qemu;
  const guestMs = Date.now() - start;
  qemuPid = Number((await readFile(path.join(results, 'qemu.pid'), 'utf8').catch(() => '0')).trim()) || undefined;
  const read = (f: string) => readFile(path.join(results, f), 'utf8').catch(() => '');
  const log = await read('guest.log');
  t.log(`guest: ${seconds(guestMs)} from qemu start to power off; results in ${results}\n${log.trim()}`);
  t.is(ran.exitCode, 0, `qemu: ${ran.stderr.trim() || `exit ${ran.exitCode}${ran.exitCode === 124 ? ` (killed after ${GUEST_LIMIT_S} s)` : ''}`}\n${(await read('console.log')).slice(-3000)}`);
  t.false(qemuPid !== undefined && alive(qemuPid), 'qemu is still running');
  t.is((await read('guest.rc')).trim(), '0', 'the guest did not finish test/ipip/guest-run.sh');

  t.is((await read('up.rc')).trim(), '0', `lab up: ${await read('up.out')}${await read('up.err')}`);
  t.is((await read('verify.rc')).trim(), '0', `lab verify: ${await read('verify.err')}`);
  const report = JSON.parse((await read('verify.out')) || '{}') as {
    ok?: boolean; summary?: { failed: number; unknown?: number };
    checks?: { kind: string; ok: boolean; observed: string; subject: string }[];
  };
  const bad = (report.checks ?? []).filter((c) => !c.ok);
  t.true(report.ok, `verify: ${bad.map((c) => `${c.kind} ${c.subject}: ${c.observed}`).join('; ')}`);
  t.is(report.summary?.unknown ?? 0, 0);
  const encap = (report.checks ?? []).filter((c) => c.kind === 'encapsulation');
  t.is(encap.length, 1, 'verify has one encapsulation check');
  t.regex(encap[0]?.observed ?? '', /^IPIP 192\.168\.50\.\d+ > 192\.168\.50\.\d+, inside 10\.244\.\d+\.\d+ > 10\.244\.\d+\.\d+ ICMP echo request/);
  for (const kind of ['bgp-session', 'route', 'ping', 'ttl']) {
    t.true((report.checks ?? []).some((c) => c.kind === kind && c.ok), `no passing ${kind} check`);
  }

  // What the real kernel shows: every node has tunl0 up with its tunnel address and a
  // route per remote block via that node's address on tunl0, onlink.
  const dataplane = await read('dataplane.txt');
  for (const node of ['k8s-master', 'k8s-worker1', 'k8s-worker2']) {
    const section = dataplane.split(/^## /m).find((s) => s.startsWith(`${node} (`)) ?? '';
    t.regex(section, /tunl0@NONE: <NOARP,UP,LOWER_UP> mtu 1480 /, `${node}: tunl0 not up with the IPIP MTU`);
    t.regex(section, /inet 10\.244\.0\.\d+\/32 scope global tunl0/, `${node}: no tunnel address`);
    t.is(section.match(/^10\.244\.0\.\d+\/26 via 192\.168\.50\.\d+ dev tunl0 proto 80 onlink/gm)?.length, 2, `${node}: routes\n${section}`);
  }
  t.is((await read('bird.txt')).match(/^Mesh_\S+ +BGP .* Established/gm)?.length, 6, 'BIRD mesh sessions');

  const wire = await read('ipip-wire.txt');
  // The echo request out and its reply back, each inside IPIP between the node addresses
  // (`outer: inner:`; with -e tcpdump prints no `(ipip-proto-4)`).
  t.regex(wire, /: 192\.168\.50\.11 > 192\.168\.50\.12: 10\.244\.0\.\d+ > 10\.244\.0\.\d+: ICMP echo request/m, `tcpdump on k8s-worker1 eth0:\n${wire}${await read('ipip-wire.err')}`);
  t.regex(wire, /: 192\.168\.50\.12 > 192\.168\.50\.11: 10\.244\.0\.\d+ > 10\.244\.0\.\d+: ICMP echo reply/m);
  t.log(`on the wire: ${wire.trim().split('\n')[0]}`);

  // Seed 002 in the IPIP lab: open, then default deny (every pod isolated for ingress:
  // only the diagonal stays allowed, verify still green because its expectations follow
  // the policies), then allow, open again. Expected and observed agree cell by cell.
  type Matrix = { pods: string[]; expected: string[][]; observed: string[][]; correct: number; wrong: number };
  const matrix = async (step: string, want: (i: number, j: number) => string) => {
    t.is((await read(`${step}.rc`)).trim(), '0', `${step}: ${await read(`${step}.err`)}`);
    const m = JSON.parse((await read(`${step}.out`)) || '{}') as Matrix;
    t.is(m.pods?.length, 2, `${step}: pods`);
    const n = m.pods?.length ?? 0;
    t.is(m.wrong, 0, `${step}: wrong cells`);
    t.is(m.correct, n * (n - 1), `${step}: correct cells`);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) t.is(m.observed[i][j], want(i, j), `${step}: ${m.pods[i]} -> ${m.pods[j]}`);
  };
  await matrix('matrix-open', () => '.');
  t.is((await read('apply-deny.rc')).trim(), '0', `policy apply: ${await read('apply-deny.err')}`);
  await matrix('matrix-deny', () => 'X');
  t.is((await read('verify-deny.rc')).trim(), '0', `lab verify under default deny: ${await read('verify-deny.out')}`);
  t.is((await read('apply-allow.rc')).trim(), '0', `policy apply: ${await read('apply-allow.err')}`);
  await matrix('matrix-allow', () => '.');

  t.is((await read('down.rc')).trim(), '0', `lab down: ${await read('down.err')}`);
  t.is((await read('leftovers.txt')).trim(), '## namespaces\n## processes', 'left behind in the guest');
  const times = JSON.parse((await read('times.json')) || '{}') as Record<string, number>;
  t.log(`boot ${seconds(times.bootMs)}, up ${seconds(times.upMs)}, verify ${seconds(times.verifyMs)}, down ${seconds(times.downMs)}`);
  if (t.passed) await rm(results, { recursive: true, force: true });
  return undefined;
});

