// Speed of `lab up` against a floor this script builds itself. Product: the real CLI
// brings up a copy of calico-vxlan (own name, own state dir) to verified, then `lab
// verify` and `lab down` alone. Floor: the same namespaces, veth links and addresses
// from one raw `ip -batch` file, zebra + bgpd per switch with the same rendered frr.conf
// (command lines from /work/shared/notes/measured-here.md), until every BGP session is
// Established; then killed and deleted. Runs alternate so both see the same load.
// Run as root, after `npm run build`:  npx tsx bench/up.ts   (env RUNS=3, WARMUP=1)
import { execa, type ResultPromise } from 'execa';
import { access, chown, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { loadLab } from '../src/lab/load.js';
import { plan as makePlan, type Plan } from '../src/plan/index.js';
import { renderAll } from '../src/render/index.js';

const root = path.resolve(import.meta.dirname, '..');
const main = path.join(root, 'dist/cli/main.js');
const RUNS = Number(process.env.RUNS ?? 3);
const WARMUP = Number(process.env.WARMUP ?? 1);
const SOURCE_LAB = 'calico-vxlan';
const LAB = 'bench-vxlan';
/** Prefix of the product's namespaces for LAB (src/providers/emulator/names.ts). */
const PRODUCT_NS = `fl-${LAB}-`;
/** Floor namespaces and FRR pathspaces: never a prefix the product uses. */
const FLOOR_NS = 'flb-';
/** Pause between the floor's vtysh polls per switch: 50 ms was as fast as 20 and uses half the CPU. */
const POLL_MS = Number(process.env.FLOOR_POLL_MS ?? 50);
const ESTABLISHED_TIMEOUT_MS = 30_000;
const TIME = '/usr/bin/time';
/** How the floor starts FRR: `foreground` (default, the faster) or `daemon` (-d; see startFrr). */
const FLOOR_FRR = process.env.FLOOR_FRR ?? 'foreground';
/** TRACE=1: pass FABRIC_LAB_TRACE=1 to `lab up` and print when the last session / route was met. */
const TRACE = !!process.env.TRACE;
/** ONLY=floor or ONLY=product: measure one side (to compare floor variants); no ratio then. */
const ONLY = process.env.ONLY;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
/** Promise.all that lets every promise settle first, so nothing is still starting when we clean up. */
async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(ps)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}
const tail = (s: string, n = 15) => s.trim().split('\n').slice(-n).join('\n');

// ---------------------------------------------------------------- housekeeping

let work = '';
let env: NodeJS.ProcessEnv = {};
let current: ResultPromise | undefined;
let productMayExist = false;
let floorMayExist = false;
let cleaning: Promise<void> | undefined;
let running: Promise<void> | undefined;
let aborted = false;

function checkAbort(): void {
  if (aborted) throw new Error('interrupted');
}

/**
 * Run a child in its own process group (spawned with `detached`), so an interrupt reaches
 * the CLI under time(1), which ignores SIGINT itself; cleanup waits for it.
 */
async function track<T extends ResultPromise>(p: T): Promise<Awaited<T>> {
  current = p;
  try { return await p; } finally { current = undefined; }
}

async function namespaces(): Promise<string[]> {
  return readdir('/var/run/netns').catch(() => []);
}

/** Remove whatever this script created; idempotent, runs once even if called twice. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    // Interrupted: the running CLI cleans up after itself on SIGINT (like Ctrl-C); then
    // whatever the benchmark was doing stops at its next abort check.
    if (current?.pid) { try { process.kill(-current.pid, 'SIGINT'); } catch { /* gone */ } }
    await running?.catch(() => undefined);
    if (productMayExist) {
      await execa('node', [main, 'down', LAB], { cwd: work, env, reject: false });
      const left = (await namespaces()).filter((n) => n.startsWith(PRODUCT_NS));
      if (left.length) console.error(`warning: lab down left ${left.join(', ')}`);
    }
    if (floorMayExist && floor) await floorDown(floor);
    if (work) await rm(work, { recursive: true, force: true });
  })();
  return cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    console.error(`\n${sig}: removing what the benchmark created…`);
    aborted = true;
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------- memory

interface Memory { processes: number; rssKb: number; hwmKb: number; pssKb: number }

const statusField = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);

/** RSS now, peak RSS (VmHWM) and PSS (shared pages split fairly) summed over `pids`. */
async function memoryOf(pids: number[]): Promise<Memory> {
  const m: Memory = { processes: 0, rssKb: 0, hwmKb: 0, pssKb: 0 };
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    if (!status || /^State:\s+Z/m.test(status)) continue;
    m.processes++;
    m.rssKb += statusField(status, 'VmRSS');
    m.hwmKb += statusField(status, 'VmHWM');
    m.pssKb += statusField(await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => ''), 'Pss');
  }
  return m;
}

// ---------------------------------------------------------------- product

interface CliRun { ms: number; maxRssKb: number; cpuMs: number; exitCode: number; stdout: string; stderr: string }

/**
 * `node dist/cli/main.js ARGS` under /usr/bin/time: %M is the largest max RSS of the CLI
 * and the children it waited for (ip, vtysh, ping: all far smaller than node), %U+%S the
 * CPU time of all of them (not of the detached FRR daemons, which it never reaps).
 */
async function cli(args: string[]): Promise<CliRun> {
  const rssFile = path.join(work, 'maxrss');
  const withTime = await access(TIME).then(() => true, () => false);
  const [cmd, argv] = withTime ? [TIME, ['-f', '%M %U %S', '-o', rssFile, 'node', main, ...args]] : ['node', [main, ...args]];
  const t0 = performance.now();
  const r = await track(execa(cmd, argv, { cwd: work, env, reject: false, stdin: 'ignore', detached: true }));
  const ms = performance.now() - t0;
  // On failure time(1) writes "Command exited with non-zero status N" first.
  const [maxRssKb, user, sys] = withTime ? (await readFile(rssFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number) : [NaN, NaN, NaN];
  return { ms, maxRssKb, cpuMs: (user + sys) * 1000, exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function mustSucceed(what: string, r: CliRun): void {
  if (r.exitCode !== 0) throw new Error(`${what} exited ${r.exitCode}:\n${tail(`${r.stdout}\n${r.stderr}`)}`);
}

/** The CLI's own progress lines: `✔ links (13 namespaces, 13 links) 0.15s`. */
function phases(stderr: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of stderr.split('\n')) {
    const m = /✔ ([a-z ]+?)(?: \(.*\))? ([\d.]+)s$/.exec(line.trim());
    if (m) out[m[1]] = Number(m[2]) * 1000;
  }
  // FABRIC_LAB_TRACE lines: `709 ms  session leaf1 -> spine-sw1 (172.16.0.0)`, from the start of convergence.
  for (const m of stderr.matchAll(/^\s*(\d+) ms {2}(session|route) /gm)) {
    const key = `last ${m[2]} (trace)`;
    out[key] = Math.max(out[key] ?? 0, Number(m[1]));
  }
  const total = /total ([\d.]+)s/.exec(stderr);
  if (total) out['total (in process)'] = Number(total[1]) * 1000;
  return out;
}

interface ProductRun { up: number; verify: number; down: number; phases: Record<string, number>; rss: Record<string, number>; cpu: Record<string, number>; frr: Memory }

async function productPids(): Promise<number[]> {
  const state = JSON.parse(await readFile(path.join(env.FABRIC_LAB_STATE!, 'emulator', LAB, 'state.json'), 'utf8')) as { processes: { pid: number }[] };
  return state.processes.map((p) => p.pid);
}

async function productCycle(labFile: string): Promise<ProductRun> {
  productMayExist = true;
  const up = await cli(['up', labFile]);
  mustSucceed('lab up', up);
  const frr = await memoryOf(await productPids());
  const verify = await cli(['verify', LAB]);
  mustSucceed('lab verify', verify);
  const down = await cli(['down', LAB]);
  mustSucceed('lab down', down);
  productMayExist = false;
  const left = (await namespaces()).filter((n) => n.startsWith(PRODUCT_NS));
  if (left.length) throw new Error(`lab down left namespaces behind: ${left.join(', ')}`);
  return {
    up: up.ms, verify: verify.ms, down: down.ms, phases: phases(up.stderr), frr,
    rss: { up: up.maxRssKb, verify: verify.maxRssKb, down: down.maxRssKb },
    cpu: { up: up.cpuMs, verify: verify.cpuMs, down: down.cpuMs },
  };
}

// ---------------------------------------------------------------- floor

interface FloorSwitch { name: string; ns: string; conf: string; peers: string[] }
interface Floor { namespaces: string[]; batch: string; switches: FloorSwitch[]; pids: Set<number> }
let floor: Floor | undefined;

const floorNs = (device: string) => `${FLOOR_NS}${device}`;
const confDir = (ns: string) => path.join('/etc/frr', ns);
const runDir = (ns: string) => path.join('/var/run/frr', ns);

/**
 * One `ip -batch` file: every namespace, every veth created with both ends in place, then
 * per namespace `netns exec NS ip -batch NS.batch` for links up and addresses (a batch
 * line takes no `-n`). One process from here: faster than one `ip -n NS -batch` per
 * namespace spawned in parallel (measured: 0.12 s against 0.21-0.26 s).
 */
async function prepareFloor(plan: Plan, dir: string): Promise<Floor> {
  const perNs = new Map<string, string[]>();
  const lines = (device: string) => perNs.get(floorNs(device)) ?? perNs.set(floorNs(device), []).get(floorNs(device))!;
  for (const sw of plan.switches) {
    const l = lines(sw.name);
    l.push('link set lo up');
    if (sw.loopback) l.push(`addr add ${sw.loopback}/32 dev lo`);
    for (const p of sw.ports) {
      l.push(`link set ${p.name} up`);
      if (p.addr) l.push(`addr add ${p.addr.ip}/${p.addr.prefixLen} dev ${p.name}`);
    }
    if (sw.bridge) {
      l.push(`link add name ${sw.bridge.name} type bridge`, `link set ${sw.bridge.name} up`);
      for (const m of sw.bridge.members) l.push(`link set ${m} master ${sw.bridge.name}`);
      l.push(`addr add ${sw.bridge.addr.ip}/${sw.bridge.addr.prefixLen} dev ${sw.bridge.name}`);
    }
  }
  for (const n of plan.nodes) lines(n.name).push('link set lo up', 'link set eth0 up', `addr add ${n.addr.ip}/${n.addr.prefixLen} dev eth0`);
  for (const p of plan.pods) {
    lines(p.node).push(`link set ${p.hostIface} up`);
    lines(p.name).push('link set lo up', 'link set eth0 up', `addr add ${p.ip}/32 dev eth0`);
  }
  const all = [...perNs.keys()];
  const batch = [
    ...all.map((ns) => `netns add ${ns}`),
    ...plan.links.map((k) => `link add name ${k.a.iface} netns ${floorNs(k.a.device)} type veth peer name ${k.b.iface} netns ${floorNs(k.b.device)}`),
  ];
  for (const [ns, l] of perNs) {
    const file = path.join(dir, `${ns}.batch`);
    await writeFile(file, l.join('\n') + '\n');
    batch.push(`netns exec ${ns} ip -batch ${file}`);
  }
  const batchFile = path.join(dir, 'floor.batch');
  await writeFile(batchFile, batch.join('\n') + '\n');

  const artifacts = new Map(renderAll(plan).map((a) => [a.path, a.content]));
  const switches = plan.switches.filter((s) => s.bgp).map((s) => ({
    name: s.name, ns: floorNs(s.name),
    conf: artifacts.get(`fabric-configs/${s.name}/frr.conf`) ?? '',
    peers: plan.intent.sessions.filter((x) => x.speaker === s.name).map((x) => x.peerIp),
  }));
  const missing = switches.filter((s) => !s.conf).map((s) => s.name);
  if (missing.length) throw new Error(`no rendered frr.conf for ${missing.join(', ')}`);
  return { namespaces: all, batch: batchFile, switches, pids: new Set() };
}

async function frrUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await execa('id', [flag, 'frr'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

/**
 * FRR with the notes' command lines: zebra, then bgpd once zebra's zserv.api exists. By
 * default both run in the foreground of a detached child (its PID is the daemon's), as the
 * product does. FLOOR_FRR=daemon adds the notes' `-d`: each call then returns only once its
 * daemon has read its config, which under load made the floor 0.2-0.7 s slower.
 */
async function startFrr(f: Floor, sw: FloorSwitch, owner: { uid: number; gid: number }): Promise<void> {
  const conf = path.join(confDir(sw.ns), 'frr.conf');
  await Promise.all([mkdir(confDir(sw.ns), { recursive: true }), mkdir(runDir(sw.ns), { recursive: true })]);
  await writeFile(conf, sw.conf);
  await writeFile(path.join(confDir(sw.ns), 'vtysh.conf'), '');
  await Promise.all([confDir(sw.ns), runDir(sw.ns), conf].map((p) => chown(p, owner.uid, owner.gid)));
  for (const daemon of ['zebra', 'bgpd']) {
    checkAbort();
    const pidFile = path.join(runDir(sw.ns), `${daemon}.pid`);
    const argv = ['netns', 'exec', sw.ns, `/usr/lib/frr/${daemon}`, '-N', sw.ns, '-F', 'datacenter', '-f', conf, '-i', pidFile];
    if (FLOOR_FRR === 'foreground') {
      const sub = execa('ip', argv, { detached: true, cleanup: false, stdio: 'ignore', reject: false });
      sub.unref();
      f.pids.add(sub.pid!);
    } else {
      await execa('ip', [...argv, '-d']);
      f.pids.add(Number((await readFile(pidFile, 'utf8')).trim()));
    }
    if (daemon === 'zebra') await waitFor(path.join(runDir(sw.ns), 'zserv.api'));
  }
}

async function waitFor(file: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await access(file).then(() => true, () => false))) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear`);
    await sleep(5);
  }
}

async function established(sw: FloorSwitch): Promise<void> {
  const deadline = Date.now() + ESTABLISHED_TIMEOUT_MS;
  for (;;) {
    checkAbort();
    const r = await execa('vtysh', ['-N', sw.ns, '-c', 'show bgp summary json'], { reject: false });
    let peers: Record<string, { state?: string }> = {};
    try { peers = JSON.parse(r.stdout)?.ipv4Unicast?.peers ?? {}; } catch { /* bgpd busy */ }
    if (sw.peers.every((ip) => peers[ip]?.state === 'Established')) return;
    if (Date.now() > deadline) throw new Error(`floor: ${sw.name} sessions not Established: ${JSON.stringify(peers)}`);
    await sleep(POLL_MS);
  }
}

interface FloorRun { links: number; frr: number; up: number; down: number; cpuMs: number; mem: Memory }

/** CPU of this process and the children it reaped (utime, stime, cutime, cstime), in ms. */
async function selfCpuMs(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i]), 0) * 10; // fields 14-17, USER_HZ 100
}

async function floorCycle(f: Floor): Promise<FloorRun> {
  const clash = (await namespaces()).filter((n) => f.namespaces.includes(n));
  if (clash.length) throw new Error(`namespaces ${clash.join(', ')} exist already: remove them with ip netns del (left by an interrupted run?)`);
  floorMayExist = true;
  f.pids.clear();
  const owner = await frrUser();
  const cpu0 = await selfCpuMs();
  const t0 = performance.now();
  await track(execa('ip', ['-batch', f.batch], { detached: true }));
  const links = performance.now() - t0;
  await settleAll(f.switches.map((sw) => startFrr(f, sw, owner)));
  const frr = performance.now() - t0;
  await settleAll(f.switches.map(established));
  const up = performance.now() - t0;
  // The daemons are reaped only after floorDown, so this is ip, vtysh and this script.
  const cpuMs = (await selfCpuMs()) - cpu0;
  const mem = await memoryOf([...f.pids]);
  const t1 = performance.now();
  await floorDown(f);
  return { links, frr, up, down: performance.now() - t1, cpuMs, mem };
}

/** The inode of a namespace, to check a PID really lives in one of ours before killing it. */
async function nsInode(ns: string): Promise<string | undefined> {
  return stat(`/var/run/netns/${ns}`).then((s) => `net:[${s.ino}]`, () => undefined);
}

/**
 * Still there: running, or a zombie this process has yet to reap (foreground daemons are our
 * children: reaped, their CPU lands in our cutime, not in the next run's). A zombie of
 * PID 1 (`-d` daemons) has exited.
 */
const alive = async (pid: number) => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!stat) return false;
  const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return !/^[ZX]$/.test(state) || Number(ppid) === process.pid;
};

async function floorDown(f: Floor): Promise<void> {
  const ours = new Set((await Promise.all(f.namespaces.map(nsInode))).filter(Boolean));
  const pids = [];
  for (const pid of f.pids) if (ours.has(await readlink(`/proc/${pid}/ns/net`).catch(() => ''))) pids.push(pid);
  const kill = (pid: number, sig: NodeJS.Signals) => { try { process.kill(pid, sig); } catch { /* gone */ } };
  for (const pid of pids) kill(pid, 'SIGTERM');
  const deadline = Date.now() + 3000;
  let left = pids;
  while (left.length) {
    left = (await Promise.all(left.map(async (p) => ((await alive(p)) ? p : 0)))).filter(Boolean);
    if (left.length && Date.now() > deadline) { for (const p of left) kill(p, 'SIGKILL'); }
    if (left.length) await sleep(5);
  }
  const existing = new Set(await namespaces());
  const del = f.namespaces.filter((ns) => existing.has(ns)).map((ns) => `netns del ${ns}`);
  if (del.length) await execa('ip', ['-batch', '-'], { input: del.join('\n') + '\n' });
  await Promise.all(f.switches.flatMap((sw) => [confDir(sw.ns), runDir(sw.ns)]).map((d) => rm(d, { recursive: true, force: true })));
  f.pids.clear();
  floorMayExist = false;
}

// ---------------------------------------------------------------- main

async function versionMedian(n = 10): Promise<{ ms: number; maxRssKb: number }> {
  const runs: CliRun[] = [];
  for (let i = 0; i < n; i++) runs.push(await cli(['--version']));
  for (const r of runs) mustSucceed('lab --version', r);
  return { ms: median(runs.map((r) => r.ms)), maxRssKb: median(runs.map((r) => r.maxRssKb)) };
}

async function uptime(): Promise<string> {
  return (await execa('uptime', [], { reject: false })).stdout.trim() || `load average: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
}

async function run(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark creates network namespaces and starts FRR');
  await access(main).catch(() => { throw new Error(`${main} missing: run npm run build first`); });
  const busy = (await namespaces()).filter((n) => n.startsWith(FLOOR_NS) || n.startsWith(PRODUCT_NS));
  if (busy.length) throw new Error(`namespaces ${busy.join(', ')} exist already (an interrupted benchmark?): remove them with ip netns del`);

  work = await mkdtemp(path.join(tmpdir(), 'bench-up-'));
  const state = path.join(work, 'state');
  await mkdir(state);
  env = { ...process.env, FABRIC_LAB_STATE: state, NO_COLOR: '1', ...(TRACE ? { FABRIC_LAB_TRACE: '1' } : {}) };
  const labFile = path.join(work, `${LAB}.yaml`);
  const source = await readFile(path.join(root, 'labs', `${SOURCE_LAB}.yaml`), 'utf8');
  await writeFile(labFile, source.replace(/^name: .*$/m, `name: ${LAB}`));
  const plan = makePlan(await loadLab(labFile));
  floor = await prepareFloor(plan, work);

  const loadBefore = await uptime();
  console.log(`${new Date().toISOString()}  ${cpus().length} cores  ${loadBefore}`);
  console.log(`${SOURCE_LAB} as ${LAB}: ${plan.switches.length} switches, ${plan.nodes.length} nodes, ${plan.pods.length} pods, ${plan.links.length} links; ${RUNS} runs (+${WARMUP} warm-up), alternating; floor FRR ${FLOOR_FRR}`);
  const version = ONLY ? { ms: NaN, maxRssKb: NaN } : await versionMedian();

  const product: ProductRun[] = [];
  const floors: FloorRun[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const order = (i % 2 ? ['floor', 'product'] : ['product', 'floor']).filter((w) => !ONLY || w === ONLY);
    for (const which of order) {
      checkAbort();
      if (which === 'product') {
        const r = await productCycle(labFile);
        if (i >= WARMUP) product.push(r);
        const ph = Object.entries(r.phases).map(([k, v]) => `${k} ${(v / 1000).toFixed(2)}`).join(', ');
        console.log(`  run ${i + 1}${i < WARMUP ? ' (warm-up)' : ''}  product up ${secs(r.up)}  verify ${secs(r.verify)}  down ${secs(r.down)}\n      (${ph})`);
      } else {
        const r = await floorCycle(floor);
        if (i >= WARMUP) floors.push(r);
        console.log(`  run ${i + 1}${i < WARMUP ? ' (warm-up)' : ''}  floor   up ${secs(r.up)}  (links ${secs(r.links)}, FRR started ${secs(r.frr)})  down ${secs(r.down)}`);
      }
    }
  }
  report(product, floors, version, loadBefore, await uptime());
}

function report(product: ProductRun[], floors: FloorRun[], version: { ms: number; maxRssKb: number }, loadBefore: string, loadAfter: string): void {
  const m = median;
  const row = (label: string, value: string, target = '') => console.log(`${label.padEnd(46)}${value.padStart(10)}   ${target}`);
  const all = (xs: number[]) => `[${xs.map((x) => (x / 1000).toFixed(2)).join(' ')}]`;
  const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');
  const load = (s: string) => s.replace(/.*load average: /, '');
  console.log(`\nmedians of ${RUNS} runs   load before: ${load(loadBefore)}   after: ${load(loadAfter)}`);
  const up = m(product.map((r) => r.up));
  const floorUp = m(floors.map((r) => r.up));
  if (product.length) {
    row(`product: lab up ${LAB} -> verified`, secs(up), `target <= 5 s: ${verdict(up <= 5000)}  ${all(product.map((r) => r.up))}`);
    const keys = ['host packages', 'render', 'links', 'daemons', 'dataplane', 'convergence', 'last session (trace)', 'last route (trace)', 'verify', 'total (in process)'];
    const ph = keys.filter((k) => product.every((r) => r.phases[k] !== undefined)).map((k) => `${k} ${(m(product.map((r) => r.phases[k])) / 1000).toFixed(2)}`);
    console.log(`  phases (CLI progress, s): ${ph.join(', ')}`);
  }
  if (floors.length) {
    row('floor: ip -batch + FRR + all sessions Established', secs(floorUp), all(floors.map((r) => r.up)));
    console.log(`  phases (s from start): links ${(m(floors.map((r) => r.links)) / 1000).toFixed(2)}, FRR started ${(m(floors.map((r) => r.frr)) / 1000).toFixed(2)}, Established ${(floorUp / 1000).toFixed(2)}`);
  }
  if (product.length && floors.length) row('ratio product / floor', `${(up / floorUp).toFixed(2)}x`, `target <= 1.5x: ${verdict(up / floorUp <= 1.5)}`);
  if (product.length) {
    const verify = m(product.map((r) => r.verify));
    const down = m(product.map((r) => r.down));
    row(`lab verify ${LAB}`, secs(verify), `target <= 2 s: ${verdict(verify <= 2000)}  ${all(product.map((r) => r.verify))}`);
    row(`lab down ${LAB}`, secs(down), `target <= 1 s: ${verdict(down <= 1000)}  ${all(product.map((r) => r.down))}`);
  }
  if (floors.length) row('floor down (kill FRR, wait, delete namespaces)', secs(m(floors.map((r) => r.down))));
  if (!ONLY) row('lab --version (10 runs)', `${version.ms.toFixed(0)} ms`);
  const mem = (x: Memory[]) => `${x[0].processes} processes: RSS ${mb(m(x.map((y) => y.rssKb)))}, peak RSS ${mb(m(x.map((y) => y.hwmKb)))}, PSS ${mb(m(x.map((y) => y.pssKb)))}`;
  if (product.length) console.log(`memory, lab processes while up (sums): product FRR ${mem(product.map((r) => r.frr))}`);
  if (floors.length) console.log(`memory, lab processes while up (sums): floor FRR   ${mem(floors.map((r) => r.mem))}`);
  if (floors.length) console.log(`CPU of the floor's up (this script, ip, vtysh; not FRR): ${secs(m(floors.map((r) => r.cpuMs)))}`);
  if (!product.length) return;
  const rss = (k: string) => mb(m(product.map((r) => r.rss[k])));
  console.log(`memory, CLI max RSS (time -f %M): up ${rss('up')}, verify ${rss('verify')}, down ${rss('down')}${ONLY ? '' : `, --version ${mb(version.maxRssKb)}`}`);
  const cpu = (k: string) => secs(m(product.map((r) => r.cpu[k])));
  console.log(`CPU of the CLI and its short-lived children (time %U+%S): up ${cpu('up')}, verify ${cpu('verify')}, down ${cpu('down')} (${cpus().length} cores)`);
}

try {
  running = run();
  await running;
} catch (e) {
  console.error(`benchmark failed: ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
