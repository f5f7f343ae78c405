// Commands that look at a running lab: verify, exec, capture, pods.
import { loadPlan } from '../load.js';
import { getProvider } from '../../providers/index.js';
import { findRunning, listRunning, type RunningLab } from '../../providers/registry.js';
import type { Provider } from '../../providers/types.js';
import type { Plan } from '../../plan/types.js';
import { table, printJson, c, colorEnabled } from '../output.js';
import { notRunning, badInput } from '../../errors.js';
import { labName, reportExit } from './lifecycle.js';
import { bindInstance, checkInstance, displayRef, runKey } from '../../workshop/instance.js';

/** `--instance NAME` of a command that takes a LAB. */
export interface InstanceOption { instance?: string }

/**
 * A running copy's plan (from the file it was started with) and its provider, bound to
 * the instance: every provider call made with the plan's name reaches that copy.
 */
export async function attach(ref: string, o: InstanceOption = {}): Promise<{ plan: Plan; provider: Provider; running: RunningLab }> {
  const name = labName(ref);
  const instance = checkInstance(o.instance);
  const running = await findRunning(name, instance);
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

export async function verifyCmd(ref: string, o: { json?: boolean } & InstanceOption): Promise<number> {
  const { plan, provider, running } = await attach(ref, o);
  const { verify, formatReport } = await import('../../verify/index.js');
  const report = await verify(plan, provider);
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

export async function execCmd(ref: string, device: string, cmd: string[], o: InstanceOption = {}): Promise<number> {
  const { running, provider } = await attach(ref, o);
  if (!cmd.length) throw badInput('nothing to run: give a command after --, e.g. lab exec LAB leaf1 -- vtysh -c "show bgp summary"');
  const interactive = !!process.stdin.isTTY && !!process.stdout.isTTY;
  const r = await provider.exec(running.lab, device, cmd, interactive ? { stdio: 'inherit' } : {});
  if (!interactive) {
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
  }
  // Like kubectl/docker exec: the command's own exit code.
  return r.exitCode < 0 ? 1 : r.exitCode;
}

export async function captureCmd(ref: string, device: string, iface: string, args: string[], o: { write?: string; count?: string } & InstanceOption): Promise<number> {
  const { running, provider } = await attach(ref, o);
  const packets = o.count ? Number(o.count) : undefined;
  if (o.count && !(Number.isInteger(packets) && packets! > 0)) throw badInput(`--count must be a positive whole number, got "${o.count}"`);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.on('SIGINT', stop);
  try {
    const r = await provider.capture(running.lab, device, iface, args, {
      packets, writeFile: o.write, signal: abort.signal,
      onListening: () => process.stderr.write(c.dim(`capturing on ${device} ${iface}${o.write ? ` into ${o.write}` : ''}; Ctrl-C to stop\n`)),
      onLine: o.write ? undefined : (line) => process.stdout.write(line + '\n'),
    });
    if (r.exitCode > 0 && !abort.signal.aborted) {
      process.stderr.write(r.stderr);
      return 1;
    }
    return 0;
  } finally {
    process.off('SIGINT', stop);
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
