// FRR (zebra + bgpd per switch namespace, own pathspace) and BIRD (per node) as the lab's
// routing daemons. They run in the foreground of a detached process, so the PID we record
// is the daemon itself; output goes to a log file in the lab directory.
import { execa } from 'execa';
import { access, chown, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { LabError, ExitCode, badInput } from '../../errors.js';
import type { Plan } from '../../plan/types.js';
import { renderBirdConf } from './bird.js';
import { birdSocket, frrConfDir, frrRunDir, labDir, namespaceOf } from './names.js';
import { procInfo } from './processes.js';
import { settleAll } from './run.js';
import type { StateStore } from './state.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READY_TIMEOUT_MS = 10_000;

export interface Started { pid: number; exited: () => boolean }

/** Spawn `argv` inside `ns`, detached, and record its PID in the state at once. */
export async function spawnDaemon(store: StateStore, device: string, daemon: string, ns: string, argv: string[], signal?: AbortSignal): Promise<Started> {
  signal?.throwIfAborted();
  const logFile = path.join(labDir(store.state.lab), 'logs', `${device}.${daemon}.log`);
  // A raw fd (not a pipe): the daemon keeps writing after this process exits. execa passes
  // any integer fd to spawn; its types only list 3..9, hence the cast.
  const fd = openSync(logFile, 'a') as 3;
  let done = false;
  try {
    // cleanup: false, detached: the daemon must outlive this CLI process and its Ctrl-C.
    const sub = execa('ip', ['netns', 'exec', ns, ...argv], {
      detached: true, cleanup: false, stdin: 'ignore', stdout: fd, stderr: fd, reject: false,
    });
    sub.unref();
    void sub.then(() => { done = true; });
    if (!sub.pid) throw new LabError(`emulator: could not start ${daemon} on ${device}`, ExitCode.hostLacks);
    const pid = sub.pid;
    const startTime = (await procInfo(pid))?.startTime ?? '';
    await store.update((s) => s.processes.push({ device, daemon, ns, pid, startTime }));
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

/** zebra, then bgpd once zebra's zserv.api exists; all switches in parallel. */
export async function startFrr(store: StateStore, plan: Plan, switches: { name: string; conf: string }[], signal?: AbortSignal): Promise<void> {
  if (!switches.length) return;
  const { uid, gid } = await frrIds();
  await mkdir('/var/run/frr', { recursive: true });
  const logs = path.join(labDir(plan.name), 'logs');
  await settleAll(switches.map(async (sw) => {
    const ns = namespaceOf(plan.name, sw.name);
    const confDir = frrConfDir(ns);
    const runDir = frrRunDir(ns);
    await Promise.all([mkdir(confDir, { recursive: true }), mkdir(runDir, { recursive: true })]);
    const conf = path.join(confDir, 'frr.conf');
    await copyFile(sw.conf, conf);
    await writeFile(path.join(confDir, 'vtysh.conf'), ''); // silences vtysh's warning
    await Promise.all([confDir, conf, path.join(confDir, 'vtysh.conf'), runDir].map((p) => chown(p, uid, gid)));
    const common = ['-N', ns, '-F', 'datacenter', '-f', conf, '-P', '0'];
    const zebra = await spawnDaemon(store, sw.name, 'zebra', ns, ['/usr/lib/frr/zebra', ...common, '-i', path.join(runDir, 'zebra.pid')], signal);
    await waitForFile(path.join(runDir, 'zserv.api'), zebra, `zebra on ${sw.name}`, path.join(logs, `${sw.name}.zebra.log`), signal);
    const bgpd = await spawnDaemon(store, sw.name, 'bgpd', ns, ['/usr/lib/frr/bgpd', ...common, '-i', path.join(runDir, 'bgpd.pid')], signal);
    await waitForFile(path.join(runDir, 'bgpd.vty'), bgpd, `bgpd on ${sw.name}`, path.join(logs, `${sw.name}.bgpd.log`), signal);
  }));
}

/** BIRD per node with a BGP speaker (Calico BGP and IPIP modes). */
export async function startBird(store: StateStore, plan: Plan, signal?: AbortSignal): Promise<void> {
  const nodes = plan.nodes.filter((n) => n.bgp);
  if (!nodes.length) return;
  const dir = path.join(labDir(plan.name), 'bird');
  await mkdir(dir, { recursive: true });
  await settleAll(nodes.map(async (node) => {
    const ns = namespaceOf(plan.name, node.name);
    const conf = path.join(dir, `${node.name}.conf`);
    const sock = birdSocket(plan.name, node.name);
    await writeFile(conf, renderBirdConf(plan, node, path.join(dir, `${node.name}.log`)));
    const bird = await spawnDaemon(store, node.name, 'bird', ns, ['bird', '-f', '-c', conf, '-s', sock, '-P', path.join(dir, `${node.name}.pid`)], signal);
    await waitForFile(sock, bird, `bird on ${node.name}`, path.join(labDir(plan.name), 'logs', `${node.name}.bird.log`), signal);
  }));
}
