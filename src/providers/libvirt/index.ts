// The libvirt provider: the rendered Vagrantfile brought up with vagrant-libvirt, VMs
// reached over SSH (ssh2), pods through `kubectl exec` on the control plane.
import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plan } from '../../plan/types.js';
import type { CaptureOptions, ExecOptions, ExecResult, LabStatus, Progress, Provider, DeviceStatus } from '../types.js';
import { LabError, ExitCode, badInput, hostLacks } from '../../errors.js';
import { findRunning } from '../registry.js';
import { stateRoot } from '../../paths.js';
import { batchScript, splitBatch } from '../batch.js';
import { sshExec, sshInteractive, type SshTarget } from './ssh.js';
import { checkBoxes, checkDriver, checkTools, ensureLibvirtd, stopOurLibvirtdIfIdle, LIBVIRT_NETNS, TOOLS, type LibvirtHost } from './host.js';
import { vagrant, parseVagrantLine, isMilestone, parseMachineStates, parseSshConfig, vagrantFailure, vagrantfilePrefix } from './vagrant.js';
import { initialState, readState, removeState, runningState, saveState, type LibvirtLabState } from './state.js';
import { inventory, leftovers, removeLeftovers } from './cleanup.js';
import { captureOnVm, resolvePod, kubectlArgv } from './pods.js';

const UP_TIMEOUT_MS = 60 * 60_000;
const DESTROY_TIMEOUT_MS = 10 * 60_000;
// VMs under software emulation: BGP timers and FRR start-up are slower than in namespaces.
const CONVERGENCE_TIMEOUT_MS = 5 * 60_000;
/** Commands run as root on the VMs, like the emulator's `ip netns exec`. */
const asRoot = (argv: string[]) => ['sudo', '-n', '--', ...argv];

const hostOf = (s: LibvirtLabState): LibvirtHost => ({ netns: s.netns });

function neededBoxes(plan: Plan): { boxes: string[]; bootFiles: string[] } {
  const lv = plan.lab.libvirt;
  const boxes = [...(plan.switches.length ? [lv.switchBox] : []), ...(plan.nodes.length ? [lv.nodeBox] : [])];
  const bootFiles = [lv.kernel, lv.initrd].filter((f): f is string => !!f);
  return { boxes, bootFiles };
}

/** Learn the domain prefix (vagrant-libvirt `default_prefix`) from one created domain. */
async function learnPrefix(state: LibvirtLabState, before: string[]): Promise<string | undefined> {
  const inv = await inventory();
  for (const dom of inv.domains.filter((d) => !before.includes(d))) {
    const m = state.machines.find((x) => dom.endsWith(x.name));
    if (m) return dom.slice(0, dom.length - m.name.length);
  }
  return undefined;
}

async function refreshSsh(state: LibvirtLabState): Promise<void> {
  const r = await vagrant({ host: hostOf(state), dir: state.artifactsDir, timeoutMs: 120_000 }, ['ssh-config']);
  const parsed = parseSshConfig(r.stdout);
  state.ssh = Object.fromEntries(parsed);
  await saveState(state);
}

async function targetFor(state: LibvirtLabState, machine: string, refresh = false): Promise<SshTarget> {
  if (refresh || !state.ssh[machine]) await refreshSsh(state);
  const c = state.ssh[machine];
  if (!c) throw new LabError(`${state.lab}: ${machine} has no SSH address (is its VM running? lab status ${state.lab})`, ExitCode.notRunning);
  return { name: machine, ...c, netns: state.netns };
}

/** Run on a VM; a stale address (VM rebooted, new DHCP lease) is looked up again once. */
async function onVm(state: LibvirtLabState, machine: string, argv: string[], opts: ExecOptions & { connectTimeoutMs?: number } = {}): Promise<ExecResult> {
  const run = async (t: SshTarget) => opts.stdio === 'inherit'
    ? sshInteractive(t, argv, { connectTimeoutMs: opts.connectTimeoutMs })
    : sshExec(t, argv, { timeoutMs: opts.timeoutMs, input: opts.input, connectTimeoutMs: opts.connectTimeoutMs });
  try {
    return await run(await targetFor(state, machine));
  } catch (e) {
    if (!(e instanceof LabError) || e.exitCode !== ExitCode.notRunning) throw e;
    return run(await targetFor(state, machine, true));
  }
}

function machineOrPod(state: LibvirtLabState, device: string) {
  const machine = state.machines.find((m) => m.name === device);
  const pod = state.pods.find((p) => p.name === device);
  if (!machine && !pod) {
    throw badInput(`${state.lab} has no device "${device}"; devices: ${[...state.machines.map((m) => m.name), ...state.pods.map((p) => p.name)].join(', ')}`);
  }
  return { machine, pod };
}

async function destroy(state: LibvirtLabState, progress?: Progress): Promise<void> {
  const hasProject = await access(path.join(state.artifactsDir, 'Vagrantfile')).then(() => true, () => false);
  if (hasProject) {
    const r = await vagrant({
      host: hostOf(state), dir: state.artifactsDir, timeoutMs: DESTROY_TIMEOUT_MS,
      onLine: (line) => { const v = parseVagrantLine(line); if (v && isMilestone(v.message)) progress?.info(`${v.machine}: ${v.message}`); },
    }, ['destroy', '-f']);
    if (r.exitCode !== 0) progress?.info(`vagrant destroy failed, removing domains with virsh: ${vagrantFailure(r.all ?? '')}`);
  }
  const prefix = state.domainPrefix ?? `${path.basename(state.artifactsDir)}_`;
  const removed = await removeLeftovers(await leftovers(prefix, state.createdNetworks));
  if (removed.length) progress?.info(`removed ${removed.join(', ')}`);
}

export const libvirt: Provider = {
  name: 'libvirt',
  // Pods are reached through `kubectl exec` into images without fping: one ping per pair.
  capabilities: { bird: true, fping: false, instances: false, outside: false, podDataplane: 'cni' },
  requiredTools: () => TOOLS,
  upReads: 'all',

  async up(plan: Plan, artifactsDir: string, progress: Progress, signal?: AbortSignal): Promise<void> {
    const endHost = progress.phase('libvirt host');
    await checkTools();
    await checkDriver(plan.lab.libvirt.driver);
    const host = await ensureLibvirtd();
    const { boxes, bootFiles } = neededBoxes(plan);
    await checkBoxes(boxes, bootFiles);
    const vagrantfile = await readFile(path.join(artifactsDir, 'Vagrantfile'), 'utf8').catch(() => undefined);
    if (vagrantfile === undefined) throw badInput(`no Vagrantfile in ${artifactsDir}: render the lab first`);
    endHost(host.netns ? `libvirtd in netns ${host.netns}` : 'libvirtd on the host');

    const state = initialState(plan, artifactsDir, host.netns);
    const before = await inventory();
    state.domainPrefix = vagrantfilePrefix(vagrantfile) ?? `${path.basename(artifactsDir)}_`;
    await saveState(state); // before anything exists: `down` can always clean up

    const endUp = progress.phase(`vagrant up (${state.machines.length} VMs)`);
    const log: string[] = [];
    const sub = vagrant({
      host, dir: artifactsDir, timeoutMs: UP_TIMEOUT_MS,
      onLine: (line) => {
        log.push(line);
        const v = parseVagrantLine(line);
        if (v && isMilestone(v.message)) progress.info(`${v.machine}: ${v.message}`);
      },
    }, ['up', '--provider', 'libvirt', '--parallel']);
    const onAbort = () => { sub.kill('SIGINT'); };
    signal?.addEventListener('abort', onAbort, { once: true });
    const r = await sub;
    signal?.removeEventListener('abort', onAbort);
    await writeFile(path.join(artifactsDir, 'vagrant-up.log'), log.join('\n') + '\n');

    const after = await inventory();
    state.createdNetworks = after.networks.filter((n) => !before.networks.includes(n));
    if (!vagrantfilePrefix(vagrantfile)) state.domainPrefix = (await learnPrefix(state, before.domains)) ?? state.domainPrefix;
    await saveState(state);

    if (signal?.aborted) {
      progress.info('interrupted: vagrant destroy -f');
      await destroy(state, progress);
      signal.throwIfAborted();
    }
    if (r.exitCode !== 0) {
      throw hostLacks(`vagrant up failed (full log: ${path.join(artifactsDir, 'vagrant-up.log')}):\n${vagrantFailure(r.all ?? '')}`);
    }
    endUp();

    const endSsh = progress.phase('ssh');
    await refreshSsh(state);
    await Promise.all(state.machines.map(async (m) => {
      const res = await onVm(state, m.name, ['true'], { connectTimeoutMs: 120_000 });
      if (res.exitCode !== 0) throw new LabError(`${m.name}: \`sudo true\` failed over SSH: ${res.stderr.trim()}`, ExitCode.hostLacks);
    }));
    endSsh(`${state.machines.length} VMs answer`);

    // The same wait as the emulator's, through the shared observation layer: verify
    // right after up must not race the fabric.
    const endConverge = progress.phase('convergence');
    const { waitForConvergence } = await import('../../observe/converge.js');
    const done = await waitForConvergence(plan, libvirt, { timeoutMs: CONVERGENCE_TIMEOUT_MS, signal });
    endConverge(done);
  },

  async down(labName: string, progress?: Progress): Promise<void> {
    const running = await findRunning(labName);
    const dir = running?.artifactsDir ?? path.join(stateRoot, 'artifacts', labName);
    const state = await readState(dir);
    if (!state) return; // never brought up here: nothing of ours exists
    await checkTools();
    const host = await ensureLibvirtd(); // a host reboot stops libvirtd; the domains remain
    state.netns = host.netns;
    await destroy(state, progress);
    await removeState(dir);
    if (await stopOurLibvirtdIfIdle()) progress?.info(`no VM left: stopped the libvirtd this tool started (namespace ${LIBVIRT_NETNS})`);
  },

  async status(labName: string): Promise<LabStatus> {
    const running = await findRunning(labName);
    const state = running ? await readState(running.artifactsDir) : undefined;
    if (!state) return { lab: labName, provider: 'libvirt', running: false, devices: [] };
    const r = await vagrant({ host: hostOf(state), dir: state.artifactsDir, timeoutMs: 120_000 }, ['status', '--machine-readable']);
    const states = parseMachineStates(r.stdout);
    const devices: DeviceStatus[] = await Promise.all(state.machines.map(async (m) => {
      const vmState = states.get(m.name) ?? 'unknown';
      if (vmState !== 'running') return { name: m.name, kind: m.kind, alive: false, detail: `VM ${vmState}` };
      try {
        const res = await onVm(state, m.name, ['true'], { connectTimeoutMs: 10_000, timeoutMs: 10_000 });
        return { name: m.name, kind: m.kind, alive: res.exitCode === 0, detail: res.exitCode === 0 ? 'VM running, ssh ok' : `ssh: ${res.stderr.trim()}` };
      } catch (e) {
        return { name: m.name, kind: m.kind, alive: false, detail: `VM running, ${(e as Error).message}` };
      }
    }));
    const cp = state.controlPlane && devices.find((d) => d.name === state.controlPlane)?.alive ? state.controlPlane : undefined;
    for (const pod of state.pods) {
      let alive = false;
      let detail = 'control plane unreachable';
      if (cp) {
        try {
          const real = await resolvePod(pod, state.pods, (argv) => onVm(state, cp, asRoot(argv), { timeoutMs: 30_000 }));
          alive = real.ready;
          detail = `${real.name} ${real.phase}${real.ip ? ` ${real.ip}` : ''}`;
        } catch (e) {
          detail = (e as Error).message;
        }
      }
      devices.push({ name: pod.name, kind: 'pod', alive, detail });
    }
    return { lab: labName, provider: 'libvirt', running: [...states.values()].some((s) => s === 'running'), devices };
  },

  async exec(labName: string, device: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (!argv.length) throw badInput('nothing to run');
    const state = await runningState(labName);
    const { machine, pod } = machineOrPod(state, device);
    if (machine) return onVm(state, machine.name, asRoot(argv), options);
    const cp = state.controlPlane;
    if (!cp) throw badInput(`${labName} has no Kubernetes control plane to exec into ${device}`);
    const real = await resolvePod(pod!, state.pods, (a) => onVm(state, cp, asRoot(a), { timeoutMs: 30_000 }));
    return onVm(state, cp, asRoot(kubectlArgv(['exec', ...(options.stdio === 'inherit' ? ['-it'] : options.input !== undefined ? ['-i'] : []), '-n', pod!.namespace, real.name, '--', ...argv])), options);
  },

  async execBatch(labName: string, device: string, commands: string[][], options: ExecOptions = {}): Promise<ExecResult[]> {
    if (!commands.length) return [];
    return splitBatch(await libvirt.exec(labName, device, ['sh', '-c', batchScript(commands)], { timeoutMs: options.timeoutMs }), commands.length);
  },

  async shell(labName: string, device: string, options: { vtysh: boolean }): Promise<number> {
    const state = await runningState(labName);
    const { pod } = machineOrPod(state, device);
    // VMs carry their names as hostnames (Vagrantfile); pods' images may lack bash.
    const argv = options.vtysh ? ['vtysh'] : pod ? ['sh'] : ['bash', '-l'];
    const r = await this.exec(labName, device, argv, { stdio: 'inherit' });
    return r.exitCode < 0 ? 1 : r.exitCode;
  },

  async capture(labName: string, device: string, iface: string, tcpdumpArgs: string[], options: CaptureOptions = {}): Promise<ExecResult> {
    const state = await runningState(labName);
    const { machine, pod } = machineOrPod(state, device);
    if (machine) return captureOnVm(await targetFor(state, machine.name), iface, tcpdumpArgs, options);
    // A pod: capture on its node, on the host side of its veth (found by the pod's route).
    const cp = state.controlPlane;
    if (!cp) throw badInput(`${labName} has no Kubernetes control plane`);
    const real = await resolvePod(pod!, state.pods, (a) => onVm(state, cp, asRoot(a), { timeoutMs: 30_000 }));
    if (!real.ip) throw new LabError(`${device} (${real.name}) has no IP yet`, ExitCode.notRunning);
    const route = await onVm(state, pod!.node, asRoot(['ip', '-o', 'route', 'get', real.ip]));
    const dev = /\bdev (\S+)/.exec(route.stdout)?.[1];
    if (!dev) throw new LabError(`${device}: no route to ${real.ip} on ${pod!.node}: ${route.stderr.trim()}`, ExitCode.notRunning);
    return captureOnVm(await targetFor(state, pod!.node), dev, tcpdumpArgs, options);
  },
};
