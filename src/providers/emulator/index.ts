// The emulator provider: a whole lab as network namespaces on this host, cabled with
// veth pairs, routed by real FRR (switches) and BIRD (nodes), with Felix's VXLAN
// dataplane or the bridge CNI built from the kernel's own devices.
import { execa } from 'execa';
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { badInput, ExitCode, LabError, notRunning } from '../../errors.js';
import type { Plan } from '../../plan/types.js';
import { repoRoot } from '../../paths.js';
import type { CaptureOptions, DeviceStatus, ExecOptions, ExecResult, LabStatus, Progress, Provider } from '../types.js';
import { tcpdump } from './capture.js';
import { execInherit } from './exec.js';
import { buildLab } from './build.js';
import { raiseNeighbourLimits } from './neigh.js';
import { controlDaemon, frrPaths, frrSwitches } from './daemons.js';
import { checkHost, requiredTools } from './host.js';
import { birdSocket, labDir, namespaceOf, stateFile, utsFile } from './names.js';
import { isAlive } from './processes.js';
import { ensureUtsNamespace, existingNamespaces, nsFile, RESTORE_WORKERS, runNsJobs } from './run.js';
import { filterTable } from '../../policy/node-rules.js';
import type { NetworkPolicy } from '../../policy/types.js';
import { loadState, StateStore, type DeviceRecord, type EmulatorState } from './state.js';
import { teardown } from './teardown.js';
import { buildTopology } from './topology.js';
import { RESPONDER, responderDevices } from './responder.js';
import { builtinArgv } from './builtins.js';
import { spawnBatch } from './spawner.js';

/** Upper bound for BGP sessions and routes to settle after the daemons started. */
const CONVERGENCE_TIMEOUT_MS = Number(process.env.FABRIC_LAB_CONVERGE_TIMEOUT_MS ?? 45_000);

async function up(plan: Plan, artifactsDir: string, progress: Progress, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  if ((await loadState(plan.name)).kind !== 'missing') {
    throw new LabError(`lab ${plan.name} is already running on the emulator (or an earlier up was interrupted): run \`lab down ${plan.name}\` first`, ExitCode.notRunning);
  }
  await checkHost(plan);
  const frr = await frrSwitches(plan, artifactsDir);
  const topo = buildTopology(plan);
  const existing = await existingNamespaces();
  if (new Set(topo.namespaces).size !== topo.namespaces.length) throw badInput(`lab ${plan.name}: two devices map to one namespace name (hash collision of long names): rename one`);
  const clash = topo.namespaces.filter((ns) => existing.has(ns));
  if (clash.length) {
    // The names are the lab's own (injective), so this is what an earlier run left behind.
    throw new LabError(`network namespace${clash.length > 1 ? 's' : ''} ${clash.slice(0, 5).join(', ')}${clash.length > 5 ? ', …' : ''} of lab ${plan.name} already exist${clash.length > 1 ? '' : 's'} (left over): run \`lab down ${plan.name}\``, ExitCode.notRunning);
  }

  // The state lists everything before it is created: `down` can clean any prefix of `up`.
  const sockets = plan.nodes.filter((n) => n.bgp).map((n) => birdSocket(plan.name, n.name));
  const store = new StateStore({
    lab: plan.name,
    startedAt: new Date().toISOString(),
    complete: false,
    networking: plan.networking,
    devices: devices(plan),
    namespaces: topo.namespaces,
    paths: [...frrPaths(plan, frr), ...sockets.filter((s) => !s.startsWith(labDir(plan.name)))],
    processes: [],
  });
  await store.update(() => undefined);
  await mkdir(path.join(labDir(plan.name), 'logs'), { recursive: true });
  // After the state exists: an interrupted up is cleaned by `down`, which restores them.
  const raised = await raiseNeighbourLimits(plan.name, plan);
  if (raised) progress.info(raised);

  const { dataplane } = await buildLab(plan, topo, frr, store, progress, signal);
  // A dataplane that fails ends the wait at once; either way both settle before `up` goes on.
  const failed = new AbortController();
  const built = dataplane.catch((e: unknown) => { failed.abort(); throw e; });

  const converged = (async () => {
    const end = progress.phase('convergence');
    // FABRIC_LAB_TRACE=1: when each condition was met, to see where the seconds go.
    const trace = process.env.FABRIC_LAB_TRACE ? (l: string) => progress.info(l) : undefined;
    // The shared observation layer, judged by verify's own checks (imported late: `lab
    // down` and `status` never load it).
    const { waitForConvergence } = await import('../../observe/converge.js');
    const wait = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
    end(await waitForConvergence(plan, emulator, { timeoutMs: CONVERGENCE_TIMEOUT_MS, signal: wait, trace }));
  })();
  const [b, c] = await Promise.allSettled([built, converged]);
  if (b.status === 'rejected') throw b.reason;
  if (c.status === 'rejected') throw c.reason;
  await store.update((s) => { s.complete = true; });
}

function devices(plan: Plan): DeviceRecord[] {
  const rec = (name: string, kind: DeviceRecord['kind'], daemons: string[]): DeviceRecord => ({
    name, kind, ns: namespaceOf(plan.name, name), daemons, uts: utsFile(plan.name, name),
  });
  const responders = responderDevices(plan);
  const nodeDaemons = (name: string, bird: boolean) => [...(bird ? ['bird'] : []), ...(responders.has(name) ? [RESPONDER] : [])];
  return [
    ...plan.switches.map((s) => rec(s.name, s.kind, s.bgp ? ['zebra', 'bgpd'] : [])),
    ...plan.nodes.map((n) => (n.bgp ? { ...rec(n.name, 'node', nodeDaemons(n.name, true)), birdSocket: birdSocket(plan.name, n.name) } : rec(n.name, 'node', nodeDaemons(n.name, false)))),
    ...plan.pods.map((p) => rec(p.name, 'pod', [])),
    ...(plan.outside ? [rec(plan.outside.name, 'outside', [RESPONDER])] : []),
  ];
}

async function runningState(lab: string): Promise<EmulatorState> {
  const r = await loadState(lab);
  if (r.kind === 'damaged') throw notRunning(`lab ${lab}: its state ${r.file} is damaged (${r.reason}); \`lab down ${lab}\` removes what is left of it`);
  if (r.kind === 'missing') throw notRunning(`lab ${lab} is not running on the emulator`);
  return r.value;
}

/** A device by exact name, else by unique prefix (pod names are long). */
function findDevice(state: EmulatorState, name: string): DeviceRecord {
  const exact = state.devices.find((d) => d.name === name);
  if (exact) return exact;
  const matches = state.devices.filter((d) => d.name.startsWith(name));
  if (matches.length === 1) return matches[0];
  const list = state.devices.map((d) => d.name).join(', ');
  throw badInput(matches.length
    ? `device "${name}" is ambiguous in lab ${state.lab}: ${matches.map((d) => d.name).join(', ')}`
    : `no device "${name}" in lab ${state.lab}; devices: ${list}`);
}

/** vtysh talks to the device's FRR pathspace, birdc to the node's BIRD socket. */
function deviceArgv(device: DeviceRecord, argv: string[]): string[] {
  const [cmd, ...rest] = argv;
  const base = path.basename(cmd ?? '');
  if (base === 'vtysh' && device.daemons.includes('bgpd') && !rest.includes('-N')) return [cmd, '-N', device.ns, ...rest];
  if (base === 'birdc' && device.birdSocket && !rest.includes('-s')) return [cmd, '-s', device.birdSocket, ...rest];
  return argv;
}

/** Enter the device's UTS namespace (its hostname) first, made on first use. */
async function utsPrefix(dev: DeviceRecord): Promise<string[]> {
  if (!dev.uts) return [];
  await ensureUtsNamespace(dev.uts, dev.name);
  return ['nsenter', `--uts=${dev.uts}`, '--'];
}

async function exec(lab: string, device: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  if (!argv.length) throw badInput('exec: no command given');
  const state = await runningState(lab);
  const dev = findDevice(state, device);
  const enter = await utsPrefix(dev);
  if (options.stdio === 'inherit') return execInherit(dev.ns, deviceArgv(dev, argv), enter);
  return run([...enter, 'ip', 'netns', 'exec', dev.ns, ...deviceArgv(dev, argv)], options);
}

async function run(argv: string[], options: ExecOptions): Promise<ExecResult> {
  const [bin, ...args] = argv;
  const r = await execa(bin, args, {
    reject: false, input: options.input, timeout: options.timeoutMs, stdin: options.input === undefined ? 'ignore' : undefined,
  });
  if (r.timedOut) return { stdout: r.stdout, stderr: `${r.stderr}${r.stderr ? '\n' : ''}timeout after ${options.timeoutMs} ms`, exitCode: -1 };
  return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode ?? -1 };
}

/**
 * The running state for the observers' many execs: parsed again only when the file
 * changed (a verify of 292 devices and 512 pods reads it 1,000 times; a synchronous stat
 * is microseconds, the promise one cost dc-256's verify 0.9 s of main thread). A lab gone
 * has no file, and says so as runningState does.
 */
const observedState = new Map<string, { stamp: string; state: EmulatorState }>();
async function stateForObservers(lab: string): Promise<EmulatorState> {
  const st = statSync(stateFile(lab), { throwIfNoEntry: false });
  const stamp = st ? `${st.ino} ${st.size} ${st.mtimeMs}` : '';
  const hit = observedState.get(lab);
  if (st && hit?.stamp === stamp) return hit.state;
  const state = await runningState(lab);
  if (st) observedState.set(lab, { stamp, state });
  return state;
}

/**
 * Several commands in the device's network namespace, for the observers (one request per
 * device and round): from a pooled helper that enters the namespace itself and starts each
 * command directly (spawner.ts), neither a fork of this CLI nor `nsenter` and a shell per
 * device. Only the network namespace is entered, as `nsenter --net` would: `ip netns
 * exec` also unshares the mount namespace and remounts /sys, which what observers run
 * does not read (/proc/sys/net follows the network namespace). vtysh's show commands, the
 * TTL pings and `ip -j link show` are answered by the helper itself (builtins.ts).
 */
async function execBatch(lab: string, device: string, commands: string[][], options: ExecOptions = {}): Promise<ExecResult[]> {
  if (!commands.length) return [];
  const dev = findDevice(await stateForObservers(lab), device);
  const frr = { ns: dev.ns, frr: dev.daemons.includes('bgpd') };
  return spawnBatch(nsFile(dev.ns), commands.map((argv) => deviceArgv(dev, builtinArgv(argv, frr))), { timeoutMs: options.timeoutMs });
}

/**
 * The emulator is Felix: a policy set is every node's filter table again (the nat table,
 * kube-proxy's, does not depend on it), loaded as \`lab up\` loads it: iptables-restore from
 * the pooled helpers, RESTORE_WORKERS nodes at once. One \`ip netns exec\` forked from the CLI
 * per node, all at once, took 16 s on dc-256 and timed out on some nodes.
 */
async function enforcePolicies(lab: string, plan: Plan, policies: NetworkPolicy[], signal?: AbortSignal): Promise<void> {
  const state = await runningState(lab);
  await runNsJobs(plan.nodes.map((n) => ({ ns: findDevice(state, n.name).ns, iptables: filterTable(plan, n.name, policies) })), signal, RESTORE_WORKERS);
}

/** bash with a prompt naming lab and device (emulator-configs/shell.bashrc), or vtysh. */
async function shell(lab: string, device: string, options: { vtysh: boolean }): Promise<number> {
  const argv = options.vtysh ? ['vtysh']
    : ['env', `FABRIC_LAB=${lab}`, `FABRIC_LAB_DEVICE=${device}`, 'bash', '--rcfile', path.join(repoRoot, 'emulator-configs', 'shell.bashrc'), '-i'];
  return (await exec(lab, device, argv, { stdio: 'inherit' })).exitCode;
}

async function status(lab: string): Promise<LabStatus> {
  const r = await loadState(lab);
  if (r.kind === 'damaged') return { lab, provider: 'emulator', running: false, devices: [], problem: `state damaged (${r.reason}); run \`lab down ${lab}\`` };
  if (r.kind === 'missing') return { lab, provider: 'emulator', running: false, devices: [] };
  const state = r.value;
  const namespaces = await existingNamespaces();
  const devs: DeviceStatus[] = await Promise.all(state.devices.map(async (d) => {
    if (!namespaces.has(d.ns)) return { name: d.name, kind: d.kind, alive: false, detail: `namespace ${d.ns} missing` };
    const daemons = await Promise.all(d.daemons.map(async (daemon) => {
      const procs = state.processes.filter((p) => p.device === d.name && p.daemon === daemon);
      const alive = (await Promise.all(procs.map((p) => isAlive(p.pid, p.startTime || undefined)))).some(Boolean);
      return { text: alive ? `${daemon} ${procs.map((p) => p.pid).join(',')}` : `${daemon} not running`, alive };
    }));
    return {
      name: d.name,
      kind: d.kind,
      alive: daemons.every((x) => x.alive),
      detail: [`netns ${d.ns}`, ...daemons.map((x) => x.text)].join(', '),
    };
  }));
  return { lab, provider: 'emulator', running: true, devices: devs };
}

async function capture(lab: string, device: string, iface: string, args: string[], options?: CaptureOptions): Promise<ExecResult> {
  const state = await runningState(lab);
  return tcpdump(findDevice(state, device).ns, device, iface, args, options);
}

export const emulator: Provider = {
  name: 'emulator',
  capabilities: { bird: true, fping: true, instances: true, outside: true, podDataplane: 'planned' },
  requiredTools,
  upReads: 'fabric-configs',
  up,
  down: (lab, progress) => teardown(lab, progress),
  status,
  exec,
  execBatch,
  shell,
  capture,
  daemon: controlDaemon,
  enforcePolicies,
};
