// FRR (zebra + bgpd per switch namespace, own pathspace) and BIRD (per node) as the lab's
// routing daemons. They run in the foreground of a detached process, so the PID we record
// is the daemon itself; output goes to a log file in the lab directory.
import { execa } from 'execa';
import { access, chown, copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { LabError, ExitCode, badInput } from '../../errors.js';
import { repoRoot } from '../../paths.js';
import type { Plan } from '../../plan/types.js';
import { renderBirdConf } from './bird.js';
import { birdSocket, frrConfDir, frrRunDir, labDir, namespaceOf } from './names.js';
import { isAlive, procInfo, stopProcesses } from './processes.js';
import { enterNet, nsFile, settleAll } from './run.js';
import { readState, StateStore } from './state.js';
import { hostLoad } from '../../host-load.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READY_TIMEOUT_MS = 10_000;

export interface Started { pid: number; exited: () => boolean }

/**
 * Spawn `argv` inside `ns`, detached, and record its PID in the state at once (for
 * `device`, and for each of `servesAlso`: one process doing the work of several devices).
 */
export async function spawnDaemon(store: StateStore, device: string, daemon: string, ns: string, argv: string[], signal?: AbortSignal, servesAlso: string[] = []): Promise<Started> {
  signal?.throwIfAborted();
  const logFile = path.join(labDir(store.state.lab), 'logs', `${device}.${daemon}.log`);
  // A raw fd (not a pipe): the daemon keeps writing after this process exits. execa passes
  // any integer fd to spawn; its types only list 3..9, hence the cast.
  const fd = openSync(logFile, 'a') as 3;
  let done = false;
  try {
    // cleanup: false, detached: the daemon must outlive this CLI process and its Ctrl-C.
    const sub = execa('nsenter', [...enterNet(ns), ...argv], {
      detached: true, cleanup: false, stdin: 'ignore', stdout: fd, stderr: fd, reject: false,
    });
    sub.unref();
    void sub.then(() => { done = true; });
    if (!sub.pid) throw new LabError(`emulator: could not start ${daemon} on ${device}`, ExitCode.hostLacks);
    const pid = sub.pid;
    const startTime = (await procInfo(pid))?.startTime ?? '';
    await store.update((s) => s.processes.push(...[device, ...servesAlso].map((d) => ({ device: d, daemon, ns, pid, startTime }))));
    return { pid, exited: () => done };
  } finally {
    closeSync(fd);
  }
}

/** Wait until `file` exists (a daemon's socket), failing fast if the daemon died. */
export async function waitForFile(file: string, started: Started, what: string, logFile: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await access(file);
      return;
    } catch {
      // not there yet
    }
    signal?.throwIfAborted();
    if (started.exited() || Date.now() > deadline) {
      const log = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
      throw new LabError(`emulator: ${what} ${started.exited() ? 'exited' : 'did not start'} (no ${file})${log ? `:\n${log}` : ''}`, ExitCode.hostLacks);
    }
    await sleep(5);
  }
}

/** One daemon to start: where, how, and the file that exists once it serves. */
export interface DaemonSpec { device: string; daemon: string; ns: string; argv: string[]; ready: string }


/**
 * Many daemons from ONE process (emulator-configs/spawn-daemons.py: a posix_spawn each,
 * in the daemon's namespace; not a spawn of this CLI each, nor a `setsid nsenter` pair),
 * each in its own session (a Ctrl-C of the CLI does not reach it), its output appended to
 * its log; the PID printed is the daemon's. All are recorded in one state update, then
 * awaited together: one directory listing per directory and round, not a poll per daemon.
 */
export async function spawnDaemons(store: StateStore, specs: DaemonSpec[], signal?: AbortSignal): Promise<void> {
  if (!specs.length) return;
  signal?.throwIfAborted();
  const logs = path.join(labDir(store.state.lab), 'logs');
  const logOf = (d: DaemonSpec) => path.join(logs, `${d.device}.${d.daemon}.log`);
  const input = specs.map((d) => JSON.stringify({ ns: nsFile(d.ns), argv: d.argv, log: logOf(d) })).join('\n') + '\n';
  const r = await execa('/usr/bin/python3', [path.join(repoRoot, 'emulator-configs', 'spawn-daemons.py')], { input, reject: false });
  const pids = r.stdout.split('\n').filter(Boolean).map(Number);
  const infos = await Promise.all(pids.map((pid) => procInfo(pid)));
  await store.update((s) => s.processes.push(...pids.map((pid, i) => ({ device: specs[i].device, daemon: specs[i].daemon, ns: specs[i].ns, pid, startTime: infos[i]?.startTime ?? '' }))));
  if (r.exitCode !== 0 || pids.length !== specs.length) throw new LabError(`emulator: could not start the daemons: ${r.stderr.trim() || `started ${pids.length} of ${specs.length}`}`, ExitCode.hostLacks);
  let pending = specs.map((d, i) => ({ d, pid: pids[i] }));
  // One that died is reported at once (checked every 10th round). One alive but not yet
  // serving is waited for much longer: on a loaded host (dc-1024's last bgpd, starting
  // while the other 67 converge with 1,024 BIRDs) it took more than 10 s, and slow is
  // not broken.
  const started = Date.now();
  const deadline = started + 6 * READY_TIMEOUT_MS + 50 * specs.length;
  for (let round = 0; pending.length; round++) {
    const dirs = new Map<string, Set<string>>();
    for (const dir of new Set(pending.map((p) => path.dirname(p.d.ready)))) dirs.set(dir, new Set(await readdir(dir).catch(() => [])));
    pending = pending.filter((p) => !dirs.get(path.dirname(p.d.ready))!.has(path.basename(p.d.ready)));
    if (!pending.length) return;
    signal?.throwIfAborted();
    const late = Date.now() > deadline;
    if (late || round % 10 === 9) {
      for (const p of pending) {
        const alive = await isAlive(p.pid);
        if (alive && !late) continue;
        const log = (await readFile(logOf(p.d), 'utf8').catch(() => '')).trim().split('\n').slice(-5).join('\n');
        const why = alive ? `did not start within ${Math.round((Date.now() - started) / 1000)} s (${hostLoad()})` : 'exited';
        throw new LabError(`emulator: ${p.d.daemon} on ${p.d.device} ${why} (no ${p.d.ready})${log ? `:\n${log}` : ''}`, ExitCode.hostLacks);
      }
    }
    // Every 10 ms at first, then every 50 ms: a big lab's daemons take seconds, and each
    // round lists every directory (dc-1024's BIRD sockets: one directory of 3,000 files).
    await sleep(Math.min(50, 10 + 2 * round));
  }
}

async function frrIds(): Promise<{ uid: number; gid: number }> {
  const field = (text: string, name: string, index: number) => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}:`));
    return line ? Number(line.split(':')[index]) : undefined;
  };
  const uid = field(await readFile('/etc/passwd', 'utf8'), 'frr', 2);
  const gid = field(await readFile('/etc/group', 'utf8'), 'frr', 2);
  if (uid === undefined || gid === undefined) throw new LabError('emulator: no user/group `frr`: install the Debian package frr', ExitCode.hostLacks);
  return { uid, gid };
}

/** Switches that run FRR, with their rendered frr.conf (checked before anything is created). */
export async function frrSwitches(plan: Plan, artifactsDir: string): Promise<{ name: string; conf: string }[]> {
  const list = plan.switches.filter((s) => s.bgp).map((s) => ({ name: s.name, conf: path.join(artifactsDir, 'fabric-configs', s.name, 'frr.conf') }));
  for (const s of list) {
    try {
      await access(s.conf);
    } catch {
      throw badInput(`emulator: ${s.conf} is missing: render the lab first (lab render)`);
    }
  }
  return list;
}

/** Paths outside the lab directory that FRR will use: recorded in the state before creation. */
export function frrPaths(plan: Plan, switches: { name: string }[]): string[] {
  return switches.flatMap((s) => [frrConfDir(namespaceOf(plan.name, s.name)), frrRunDir(namespaceOf(plan.name, s.name))]);
}

/** Where one FRR daemon of a switch keeps its files, and how it is started. */
function frrDaemon(ns: string, daemon: 'zebra' | 'bgpd') {
  const runDir = frrRunDir(ns);
  const conf = path.join(frrConfDir(ns), 'frr.conf');
  return {
    argv: [`/usr/lib/frr/${daemon}`, '-N', ns, '-F', 'datacenter', '-f', conf, '-P', '0', '-i', path.join(runDir, `${daemon}.pid`)],
    /** The file that exists once it serves: zebra's API socket, bgpd's vty socket. */
    ready: path.join(runDir, daemon === 'zebra' ? 'zserv.api' : 'bgpd.vty'),
  };
}

/** Spawn one FRR daemon and wait until it serves. */
async function runFrrDaemon(store: StateStore, device: string, daemon: 'zebra' | 'bgpd', ns: string, signal?: AbortSignal): Promise<void> {
  const d = frrDaemon(ns, daemon);
  const started = await spawnDaemon(store, device, daemon, ns, d.argv, signal);
  await waitForFile(d.ready, started, `${daemon} on ${device}`, path.join(labDir(store.state.lab), 'logs', `${device}.${daemon}.log`), signal);
}

/**
 * FRR's daemons of every switch: `daemons` zebra (with the switch's config files in
 * place), or bgpd (once its zebra serves).
 */
export async function startFrr(store: StateStore, plan: Plan, switches: { name: string; conf: string }[], daemon: 'zebra' | 'bgpd', signal?: AbortSignal): Promise<void> {
  if (!switches.length) return;
  if (daemon === 'zebra') {
    const { uid, gid } = await frrIds();
    await mkdir('/var/run/frr', { recursive: true });
    await settleAll(switches.map(async (sw) => {
      const ns = namespaceOf(plan.name, sw.name);
      const confDir = frrConfDir(ns);
      const runDir = frrRunDir(ns);
      await Promise.all([mkdir(confDir, { recursive: true }), mkdir(runDir, { recursive: true })]);
      const conf = path.join(confDir, 'frr.conf');
      await copyFile(sw.conf, conf);
      await writeFile(path.join(confDir, 'vtysh.conf'), ''); // silences vtysh's warning
      await Promise.all([confDir, conf, path.join(confDir, 'vtysh.conf'), runDir].map((p) => chown(p, uid, gid)));
    }));
  }
  await spawnDaemons(store, switches.map((sw) => {
    const ns = namespaceOf(plan.name, sw.name);
    return { device: sw.name, daemon, ns, ...frrDaemon(ns, daemon) };
  }), signal);
}

/** BIRD per node with a BGP speaker (Calico BGP and IPIP modes). */
export async function startBird(store: StateStore, plan: Plan, signal?: AbortSignal): Promise<void> {
  const nodes = plan.nodes.filter((n) => n.bgp);
  if (!nodes.length) return;
  const dir = path.join(labDir(plan.name), 'bird');
  await mkdir(dir, { recursive: true });
  await Promise.all(nodes.map((node) => writeFile(path.join(dir, `${node.name}.conf`), renderBirdConf(plan, node, path.join(dir, `${node.name}.log`)))));
  const sockets = [...new Set(nodes.map((n) => path.dirname(birdSocket(plan.name, n.name))))];
  await Promise.all(sockets.map((d) => mkdir(d, { recursive: true })));
  await spawnDaemons(store, nodes.map((node) => ({ device: node.name, daemon: 'bird', ns: namespaceOf(plan.name, node.name), ...birdDaemon(store.state.lab, node.name) })), signal);
}

function birdDaemon(lab: string, node: string): { argv: string[]; ready: string } {
  const dir = path.join(labDir(lab), 'bird');
  const sock = birdSocket(lab, node);
  return { argv: ['bird', '-f', '-c', path.join(dir, `${node}.conf`), '-s', sock, '-P', path.join(dir, `${node}.pid`)], ready: sock };
}

async function runBird(store: StateStore, node: string, ns: string, signal?: AbortSignal): Promise<void> {
  const d = birdDaemon(store.state.lab, node);
  const bird = await spawnDaemon(store, node, 'bird', ns, d.argv, signal);
  await waitForFile(d.ready, bird, `bird on ${node}`, path.join(labDir(store.state.lab), 'logs', `${node}.bird.log`), signal);
}

/**
 * `lab fault LAB daemon DEVICE D stop|start`: stop the recorded process, or start it again
 * the way `up` did and record the new PID in the state (so `status` and `down` track it).
 * Resolves 'already' when the daemon was already stopped/running.
 */
export async function controlDaemon(lab: string, device: string, daemon: 'zebra' | 'bgpd' | 'bird', action: 'stop' | 'start'): Promise<'done' | 'already'> {
  const state = await readState(lab);
  if (!state) throw new LabError(`lab ${lab} is not running on the emulator`, ExitCode.notRunning);
  const dev = state.devices.find((d) => d.name === device);
  if (!dev?.daemons.includes(daemon)) throw badInput(`${device} runs no ${daemon} in lab ${lab}`);
  const procs = state.processes.filter((p) => p.device === device && p.daemon === daemon);
  const alive = (await Promise.all(procs.map(async (p) => ((await isAlive(p.pid, p.startTime || undefined)) ? p : undefined)))).filter((p) => !!p);
  if (action === 'stop') {
    if (!alive.length) return 'already';
    await stopProcesses(alive.map((p) => ({ pid: p.pid, startTime: p.startTime || undefined })));
    return 'done';
  }
  if (alive.length) return 'already';
  const store = new StateStore(state);
  if (daemon === 'bird') {
    await rm(birdSocket(lab, device), { force: true });
    await runBird(store, device, dev.ns);
  } else {
    // A stale socket would look like readiness.
    await rm(frrDaemon(dev.ns, daemon).ready, { force: true });
    await runFrrDaemon(store, device, daemon, dev.ns);
  }
  // The dead records are of no use any more (their PIDs may be recycled).
  await store.update((s) => { s.processes = s.processes.filter((p) => !procs.includes(p) || alive.includes(p)); });
  return 'done';
}
