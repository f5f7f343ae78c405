// Teaching commands: fault (break the lab on purpose), trace (a packet hop by hop from
// the live tables), graph (the topology, coloured by live state).
import { printJson, table, c } from '../output.js';
import { badInput, hostLacks, notRunning } from '../../errors.js';
import { attach } from './observe.js';
import type { FaultOptions, FaultRequest } from '../../fault/model.js';
import type { Plan } from '../../plan/types.js';
import type { Provider } from '../../providers/types.js';
import { displayRef, runKey } from '../../workshop/instance.js';

export async function faultCmd(ref: string, what: string, args: string[], o: FaultOptions & { instance?: string }): Promise<number> {
  const { plan, provider, running } = await attach(ref, o);
  const { parseFault, listJson } = await import('../../fault/model.js');
  const { readFaults } = await import('../../fault/store.js');
  const req = parseFault(plan, what, args, o);
  const lab = running.lab;
  const key = runKey(running.lab, running.instance);
  const shown = displayRef(running);
  if (req.what === 'list') {
    const faults = await readFaults(key);
    if (o.json) return printJson(listJson(faults)), 0;
    if (!faults.length) return console.log(`no fault in force on ${shown}`), 0;
    console.log(table(['KIND', 'TARGET', 'DETAIL'], faults.map((f) => [f.kind, f.target, f.detail])));
    return 0;
  }
  // Changes take the lab's lock: never alongside an up, a down or another fault.
  const { acquireLabLock, describeHolder } = await import('../../state/lock.js');
  const lock = await acquireLabLock(key, {
    command: `fault ${shown} ${what}`,
    onBusy: (h) => { process.stderr.write(c.dim(`waiting for ${describeHolder(h)} to finish with ${shown}…\n`)); return 'wait'; },
  });
  try {
    // A `down` that held the lock has removed the lab meanwhile: nothing to change.
    const { findRunning } = await import('../../providers/registry.js');
    if (!(await findRunning(running.lab, running.instance))) throw notRunning(`${shown} went away (lab down) before the fault could be applied`);
    return await changeFaults(plan, provider, lab, key, shown, req);
  } finally {
    await lock.release();
  }
}

async function changeFaults(plan: Plan, provider: Provider, lab: string, key: string, shown: string, req: FaultRequest): Promise<number> {
  const { applyFault, clearFaults } = await import('../../fault/apply.js');
  if (req.what === 'clear') {
    const { cleared, failed } = await clearFaults(provider, lab, key);
    for (const f of cleared) process.stderr.write(`  ${c.green('✔')} undone: ${f.kind} ${f.target}: ${f.detail}\n`);
    for (const f of failed) process.stderr.write(`  ${c.red('✘')} could not undo ${f.fault.kind} ${f.fault.target}: ${f.error}\n`);
    if (!cleared.length && !failed.length) process.stderr.write(`no fault in force on ${shown}; nothing to undo\n`);
    return failed.length ? 4 : 0;
  }
  const out = await applyFault(plan, provider, lab, req, key);
  process.stderr.write(`${out.message}\n`);
  if (out.faults.length) process.stderr.write(c.dim(`${out.faults.length} fault${out.faults.length > 1 ? 's' : ''} in force; see them: lab fault ${shown} list; check: lab verify ${shown}; undo all: lab fault ${shown} clear\n`));
  return 0;
}

export async function graphCmd(ref: string, o: { format: string; output?: string; instance?: string }): Promise<number> {
  const { graphModel, toMermaid, toDot } = await import('../../graph/model.js');
  const { loadPlan } = await import('../load.js');
  const { findRunning } = await import('../../providers/registry.js');
  const { labName } = await import('./lifecycle.js');
  const { checkInstance } = await import('../../workshop/instance.js');
  // A lab that is not running is drawn from its plan; a running one is coloured by what it shows.
  const isRunning = await findRunning(labName(ref), checkInstance(o.instance)).catch(() => undefined);
  let model;
  if (isRunning) {
    const { plan, provider, running } = await attach(ref, o);
    const { observeGraph } = await import('../../teach/observers.js');
    const { readFaults } = await import('../../fault/store.js');
    model = graphModel(plan, await observeGraph(plan, provider), await readFaults(runKey(running.lab, running.instance)));
  } else {
    model = graphModel(await loadPlan(ref));
  }
  let text: string;
  if (o.format === 'mermaid') text = toMermaid(model);
  else if (o.format === 'dot') text = toDot(model);
  else {
    const { execa } = await import('execa');
    const r = await execa('dot', ['-Tsvg'], { input: toDot(model), reject: false });
    if ((r as { code?: string }).code === 'ENOENT' || r.exitCode === 127) throw hostLacks('lab graph --format svg needs Graphviz: apt-get install graphviz (or use --format dot / mermaid)');
    if (r.exitCode !== 0) throw hostLacks(`dot -Tsvg failed: ${r.stderr.trim()}`);
    text = r.stdout;
  }
  if (o.output) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(o.output, text);
    process.stderr.write(`wrote ${o.output} (${o.format}${isRunning ? ', coloured by the running lab' : ', planned: the lab is not running'})\n`);
  } else process.stdout.write(text);
  return 0;
}

export async function traceCmd(ref: string, from: string, to: string, o: { json?: boolean; probe?: boolean; proto?: string; port?: string; instance?: string }): Promise<number> {
  const { plan, provider, running } = await attach(ref, o);
  const { resolveDevice } = await import('../../fault/model.js');
  const { tracePath, formatTrace, traceJson } = await import('../../trace/model.js');
  const problems: string[] = [];
  const start = resolveDevice(plan, from, problems);
  let dstIp: string | undefined;
  let toLabel = to;
  let toPod: string | undefined;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(to) && to.split('.').every((x) => Number(x) <= 255)) dstIp = to;
  else {
    const pods = plan.pods.filter((p) => p.name === to || p.name.startsWith(to));
    if (pods.length === 1) { dstIp = pods[0].ip; toPod = pods[0].name; toLabel = `${pods[0].name} (${pods[0].ip})`; }
    else problems.push(pods.length ? `"${to}" matches several pods: ${pods.map((p) => p.name).join(', ')}` : `TO must be a pod or an IPv4 address; no pod "${to}" in ${plan.name} (pods: ${plan.pods.map((p) => p.name).join(', ') || 'none'})`);
  }
  const proto = (o.proto ?? 'icmp') as 'icmp' | 'udp' | 'tcp';
  if (!['icmp', 'udp', 'tcp'].includes(proto)) problems.push(`--proto must be icmp, udp or tcp, got "${o.proto}"`);
  const port = o.port === undefined ? undefined : Number(o.port);
  if (o.port !== undefined && !(Number.isInteger(port) && port! >= 1 && port! <= 65535)) problems.push(`--port must be 1 to 65535, got "${o.port}"`);
  if (port !== undefined && proto === 'icmp') problems.push('--port needs --proto tcp or udp');
  if (problems.length) throw badInput(problems.join('\n'));
  const { snapshotLab, liveOracle, traceCannot } = await import('../../teach/observers.js');
  const cannot = traceCannot(plan, provider.capabilities, provider.name, displayRef(running), start!, toPod);
  if (cannot) throw hostLacks(cannot);
  const pod = plan.pods.find((p) => p.name === start);
  const node = plan.nodes.find((n) => n.name === start);
  const sw = plan.switches.find((s) => s.name === start);
  const srcIp = pod?.ip ?? node?.addr.ip ?? sw?.loopback ?? sw?.bridge?.addr.ip;
  if (!srcIp) throw badInput(`${start} has no address to send from`);
  const snaps = await snapshotLab(plan, provider);
  const flow = { src: srcIp, dst: dstIp!, proto, ...(port ? { sport: 40000, dport: port } : {}) };
  const t = await tracePath(plan, snaps, liveOracle(plan, provider), start!, flow, toLabel);
  if (o.probe) {
    const { probePath } = await import('../../teach/observers.js');
    const seen = await probePath(plan, provider, running.lab, t);
    for (const [i, h] of t.hops.entries()) h.notes.push(seen[i] === undefined ? 'probe: not captured (no capture point)' : seen[i] ? 'probe: seen here' : 'probe: NOT seen here');
  }
  if (o.json) printJson(traceJson(t));
  else console.log(formatTrace(t, displayRef(running)));
  return t.delivered ? 0 : 1;
}
