// Commands that look at a running lab: verify, exec, capture, pods.
import { loadPlan } from '../load.js';
import { getProvider } from '../../providers/index.js';
import { findRunning, listRunning, type RunningLab } from '../../providers/registry.js';
import type { Provider } from '../../providers/types.js';
import { shellQuote } from '../../providers/batch.js';
import type { Plan } from '../../plan/types.js';
import { table, printJson, c, colorEnabled } from '../output.js';
import { notRunning, badInput, ExitCode, LabError } from '../../errors.js';
import { reportExit } from './lifecycle.js';
import { knownLab } from '../labref.js';
import { resolveDevice, splitCommandString, wrongDaemon } from '../devices.js';
import { bindInstance, checkInstance, displayRef, runKey } from '../../workshop/instance.js';
import { captureArgv } from '../../providers/capture-args.js';
import { describeHolder, lockHolder } from '../../state/lock.js';

/** `--instance NAME` of a command that takes a LAB. */
export interface InstanceOption { instance?: string }

/**
 * A running copy's plan (from the file it was started with) and its provider, bound to
 * the instance: every provider call made with the plan's name reaches that copy.
 */
export async function attach(ref: string, o: InstanceOption = {}): Promise<{ plan: Plan; provider: Provider; running: RunningLab }> {
  const instance = checkInstance(o.instance);
  const { name, running } = await knownLab(ref, instance);
  if (!running) {
    const all = await listRunning();
    const copies = all.filter((r) => r.lab === name && r.instance).map((r) => r.instance);
    const shown = displayRef({ lab: name, instance });
    throw notRunning(`${shown} is not running; start it with \`lab up ${shown}\``
      + (!instance && copies.length ? `; it runs as instances: pick one with --instance (${copies.join(', ')})` : '')
      + (all.length && !(copies.length && !instance) ? ` (running: ${all.map(displayRef).join(', ')})` : ''));
  }
  return { plan: await loadPlan(running.labFile), provider: bindInstance(await getProvider(running.provider), running.instance), running };
}

/** Whether a running copy is being taken down (a `down` holds its lock) or already gone from the registry. */
async function wentAway(running: RunningLab): Promise<string | undefined> {
  const shown = displayRef(running);
  const holder = await lockHolder(runKey(running.lab, running.instance));
  if (holder?.command.startsWith('down ')) return `${shown} is being taken down by ${describeHolder(holder)}`;
  if (!(await findRunning(running.lab, running.instance))) return `${shown} went away while verify ran (\`lab down\`)`;
  return undefined;
}

export async function verifyCmd(ref: string, o: { json?: boolean; full?: boolean } & InstanceOption): Promise<number> {
  const { plan, provider, running } = await attach(ref, o);
  const before = await wentAway(running);
  if (before) throw notRunning(before);
  const { formatReport } = await import('../../verify/index.js');
  const { verifyWithServices } = await import('../../policy/verify.js');
  // The policies in force where the provider enforces them (a real cluster's are kubectl's).
  const policies = provider.enforcePolicies ? await (await import('../../providers/emulator/policies.js')).readPolicies(runKey(running.lab, running.instance)) : [];
  // Checks that failed because the lab was removed meanwhile are not failures of the lab
  // (and an observer that found it gone says so in the same words).
  const gone = async () => {
    const after = await wentAway(running);
    return after ? notRunning(`${after}: its checks are not a verdict on the lab`) : undefined;
  };
  let report;
  try {
    report = await verifyWithServices(plan, provider, policies, { full: !!o.full });
  } catch (e) {
    throw (e instanceof LabError && e.exitCode === ExitCode.notRunning && await gone()) || e;
  }
  const after = await gone();
  if (after) throw after;
  // While faults are in force, every failed check names them (what a teacher broke).
  const { readFaults } = await import('../../fault/store.js');
  const { faultHint } = await import('../../fault/model.js');
  const faults = await readFaults(runKey(plan.name, running.instance));
  for (const check of report.checks) {
    const hint = check.ok ? undefined : faultHint(displayRef(running), check.subject, faults);
    if (hint) check.hint = check.hint ? `${check.hint}; ${hint}` : hint;
  }
  if (o.json) printJson(running.instance ? { ...report, instance: running.instance } : report);
  else console.log(formatReport(report, { color: colorEnabled() }));
  return reportExit(report);
}

export async function execCmd(ref: string, device: string, cmd: string[], o: InstanceOption & { afterDashes?: boolean } = {}): Promise<number> {
  if (!o.afterDashes && cmd.some((a) => a.startsWith('-'))) {
    throw badInput(`put the command after \`--\`, so its options are not taken for lab's: lab exec ${ref} ${device} -- ${cmd.map(shellQuote).join(' ')}\n(see \`lab exec --help\`)`);
  }
  const { plan, running, provider } = await attach(ref, o);
  const dev = resolveDevice(plan, device);
  if (!cmd.length) return openShell(plan, provider, running, dev, {});
  const split = splitCommandString(cmd);
  if (split) {
    process.stderr.write(c.dim(`note: the command came as one quoted string; running it as the words ${split.map(shellQuote).join(' ')} (no shell: pipes and globs need -- sh -c '...')\n`));
    cmd = split;
  }
  const wrong = wrongDaemon(plan, dev, cmd);
  if (wrong) throw badInput(wrong);
  // The emulator passes the CLI's own stdin/stdout/stderr to the command (byte for byte,
  // terminal or not); over SSH (libvirt) a terminal is attached only when there is one.
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY;
  const passThrough = provider.name === 'emulator' || interactive;
  const r = await provider.exec(running.lab, dev, cmd, passThrough ? { stdio: 'inherit' } : {});
  if (!passThrough) {
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
  }
  // Like kubectl/docker exec: the command's own exit code.
  return r.exitCode < 0 ? 1 : r.exitCode;
}

export async function shellCmd(ref: string, device: string, o: { vtysh?: boolean } & InstanceOption): Promise<number> {
  const { plan, running, provider } = await attach(ref, o);
  return openShell(plan, provider, running, resolveDevice(plan, device), o);
}

async function openShell(plan: Plan, provider: Provider, running: RunningLab, dev: string, o: { vtysh?: boolean }): Promise<number> {
  const wrong = o.vtysh ? wrongDaemon(plan, dev, ['vtysh']) : undefined;
  if (wrong) throw badInput(wrong);
  if (!process.stdin.isTTY) process.stderr.write(c.dim(`note: stdin is not a terminal; the ${o.vtysh ? 'vtysh' : 'shell'} on ${dev} reads its commands from it\n`));
  return provider.shell(running.lab, dev, { vtysh: !!o.vtysh });
}

/**
 * Open the pcap output of `-w FILE`: never over an existing file unless --force (and then
 * only a regular file, never through a symlink); owned by the user who ran the command
 * (SUDO_UID when run through sudo).
 */
async function openPcap(file: string, force: boolean): Promise<number> {
  const { openSync, fstatSync, fchownSync, lstatSync, constants: k } = await import('node:fs');
  const existing = (() => { try { return lstatSync(file); } catch { return undefined; } })();
  if (existing && !force) throw badInput(`${file} exists: not overwriting it (add --force to replace it)`);
  if (existing && !existing.isFile()) throw badInput(`${file} is not a regular file: not writing a capture into it`);
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put there meanwhile must not hang us (regular files ignore it).
    fd = openSync(file, k.O_WRONLY | k.O_CREAT | k.O_NOFOLLOW | k.O_NONBLOCK | (force ? 0 : k.O_EXCL), 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw badInput(`${file} exists: not overwriting it (add --force to replace it)`);
    if (code === 'ELOOP') throw badInput(`${file} is a symbolic link: not writing through it`);
    throw badInput(`cannot write ${file}: ${(e as Error).message}`);
  }
  if (!fstatSync(fd).isFile()) throw badInput(`${file} is not a regular file: not writing a capture into it`);
  const { ftruncateSync } = await import('node:fs');
  ftruncateSync(fd, 0);
  const uid = Number(process.env.SUDO_UID);
  const gid = Number(process.env.SUDO_GID);
  if (Number.isInteger(uid) && Number.isInteger(gid) && uid > 0) fchownSync(fd, uid, gid);
  return fd;
}

export async function captureCmd(ref: string, device: string, iface: string, args: string[], o: { write?: string; count?: string; force?: boolean } & InstanceOption): Promise<number> {
  const { plan, running, provider } = await attach(ref, o);
  device = resolveDevice(plan, device);
  const packets = o.count ? Number(o.count) : undefined;
  if (o.count && !(Number.isInteger(packets) && packets! > 0)) throw badInput(`--count must be a positive whole number, got "${o.count}"`);
  const tcpdumpArgs = captureArgv(args);
  const toStdout = o.write === '-';
  const fd = o.write === undefined ? undefined : toStdout ? 1 : await openPcap(o.write, !!o.force);
  const abort = new AbortController();
  const stop = () => abort.abort();
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of SIGNALS) process.on(s, stop);
  let sawStderr = false;
  try {
    const r = await provider.capture(running.lab, device, iface, tcpdumpArgs, {
      packets, pcapFd: fd, signal: abort.signal,
      onListening: () => process.stderr.write(c.dim(`capturing on ${device} ${iface}${o.write && !toStdout ? ` into ${o.write}` : ''}; Ctrl-C to stop\n`)),
      onLine: fd !== undefined ? undefined : (line) => process.stdout.write(line + '\n'),
      // tcpdump's own summary ("12 packets captured ...") goes to stderr as it says it.
      onStderrLine: (line) => { sawStderr = true; process.stderr.write(line + '\n'); },
    });
    if (!sawStderr && r.stderr.trim()) process.stderr.write(r.stderr.trimEnd() + '\n');
    if (r.exitCode > 0 && !abort.signal.aborted) return ExitCode.hostLacks;
    return 0;
  } finally {
    for (const s of SIGNALS) process.off(s, stop);
    if (fd !== undefined && fd > 2) (await import('node:fs')).closeSync(fd);
  }
}

export async function pods(ref: string, o: { json?: boolean } & InstanceOption): Promise<number> {
  const { plan, provider, running } = await attach(ref, o);
  const st = await provider.status(running.lab);
  const alive = new Map(st.devices.map((d) => [d.name, d.alive]));
  const rows = plan.pods.map((p) => ({ name: p.name, namespace: p.namespace, ready: alive.get(p.name) ? '1/1' : '0/1', status: alive.get(p.name) ? 'Running' : 'NotReady', ip: p.ip, node: p.node }));
  if (o.json) return printJson(rows), 0;
  if (!rows.length) return console.log(`no pods in ${plan.name} (no workloads)`), 0;
  console.log(table(['NAME', 'NAMESPACE', 'READY', 'STATUS', 'IP', 'NODE'], rows.map((r) => [r.name, r.namespace, r.ready, r.status === 'Running' ? r.status : c.red(r.status), r.ip, r.node])));
  return 0;
}
