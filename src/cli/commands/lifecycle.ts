// Commands that change what runs: up (one copy or a class of instances), down, status.
import path from 'node:path';
import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { stateRoot } from '../../paths.js';
import { getProvider, type ProviderName } from '../../providers/index.js';
import { findRunning, forgetRunning, listRunning, recordRunning, type RunningLab } from '../../providers/registry.js';
import type { Plan } from '../../plan/types.js';
import type { Progress, Provider } from '../../providers/types.js';
import { ensureHost, requireRoot } from '../host.js';
import { stderrProgress } from '../progress.js';
import { table, printJson, c, colorEnabled } from '../output.js';
import { LabError, ExitCode, notRunning, badInput } from '../../errors.js';
import { resolveLabFile } from '../../lab/ref.js';
import { forgetFaults, readFaults } from '../../fault/store.js';
import { bindInstance, checkInstance, classNames, displayRef, parseRunKey, runKey } from '../../workshop/instance.js';
import type { Report } from '../../verify/index.js';

/** Where `up` keeps a running copy's artifacts (the libvirt provider's Vagrant project too). */
export const artifactsDirFor = (lab: string, instance?: string) => path.join(stateRoot, 'artifacts', runKey(lab, instance));

interface UpOptions { provider: ProviderName; verify: boolean; instance?: string; instances?: string; parallel?: string }

/** Ctrl-C from the first moment: before anything exists it just stops; after, it cleans. */
async function withAbort<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) return;
    process.stderr.write(`\n${c.yellow('interrupted:')} stopping and removing everything ${what} created…\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export async function up(ref: string, o: UpOptions): Promise<number> {
  const instance = checkInstance(o.instance);
  if (o.instances !== undefined) {
    if (instance) throw badInput('give either --instance NAME or --instances N|LIST, not both');
    return withAbort('the class', (signal) => upClass(ref, o, classNames(o.instances!), signal));
  }
  return withAbort('this lab', (signal) => upOne(ref, o, instance, signal));
}

class Interrupted extends Error {}

/**
 * Render, record, build one copy; on failure or Ctrl-C remove what was built.
 * Throws Interrupted when the signal stopped it (after cleaning).
 */
async function bringUp(p: Plan, provider: Provider, providerName: ProviderName, instance: string | undefined, progress: Progress, signal: AbortSignal): Promise<void> {
  const { renderFabric, renderRest, clearArtifacts, addArtifacts } = await import('../../render/index.js');
  const running = await findRunning(p.name, instance);
  if (running) {
    const r = displayRef({ lab: p.name, instance });
    throw new LabError(`${r} is already running (on ${running.provider} since ${running.startedAt}); run \`lab down ${r}\` first`, ExitCode.notRunning);
  }
  const endRender = progress.phase('render');
  const dir = artifactsDirFor(p.name, instance);
  await clearArtifacts(dir);
  const switchConfigs = renderFabric(p);
  await addArtifacts(dir, switchConfigs);
  const writeRest = async () => { const rest = renderRest(p); await addArtifacts(dir, rest); return rest.length; };
  let restWritten: Promise<number>;
  if (provider.upReads === 'all') {
    const n = await writeRest();
    restWritten = Promise.resolve(n);
    endRender(`${switchConfigs.length + n} files in ${dir}`);
  } else {
    // The emulator reads only the switch configs: the rest (Vagrantfile, Calico, kubeadm)
    // is rendered while bgpd sits in its fixed one-second start delay, off the critical path.
    restWritten = new Promise<number>((res, rej) => setTimeout(() => writeRest().then(res, rej), 400));
    restWritten.catch(() => undefined); // surfaced by the Promise.all below
    endRender(`${switchConfigs.length} switch files in ${dir}; the rest while building`);
  }
  if (signal.aborted) { await restWritten.catch(() => undefined); throw new Interrupted('before anything was created'); }
  // Recorded before anything is created, so `lab down` can always clean a half-built lab.
  await forgetFaults(runKey(p.name, instance));
  await recordRunning({ lab: p.name, ...(instance ? { instance } : {}), provider: providerName, labFile: p.file, artifactsDir: dir, startedAt: new Date().toISOString() });
  try {
    await Promise.all([provider.up(p, dir, progress, signal), restWritten]);
    if (signal.aborted) throw new Error('interrupted');
  } catch (e) {
    // "Already running" (the provider's state disagrees with our registry): never tear down what runs.
    if (e instanceof LabError && e.exitCode === ExitCode.notRunning) {
      await forgetRunning(p.name, instance);
      throw e;
    }
    await provider.down(p.name).catch(() => undefined);
    await forgetRunning(p.name, instance);
    if (signal.aborted) throw new Interrupted('removed; nothing is left behind');
    throw e;
  }
}

async function upOne(ref: string, o: UpOptions, instance: string | undefined, signal: AbortSignal): Promise<number> {
  const { loadPlan } = await import('../load.js');
  const p = await loadPlan(ref);
  if (o.provider === 'emulator') requireRoot('lab up');
  const progress = stderrProgress();
  const provider = bindInstance(await getProvider(o.provider), instance);
  const shown = displayRef({ lab: p.name, instance });
  process.stderr.write(`${c.bold(`lab up ${shown}`)} ${c.dim(`(${o.provider})`)}\n`);
  if (signal.aborted) return process.stderr.write('interrupted before anything was created\n'), 130;
  const done = progress.phase('host packages');
  await ensureHost(provider, p, (m) => progress.info(m));
  done();
  try {
    await bringUp(p, provider, o.provider, instance, progress, signal);
  } catch (e) {
    if (e instanceof Interrupted) return process.stderr.write(`${e.message}\n`), 130;
    throw e;
  }
  process.stderr.write(`  ${c.green('✔')} ${shown} is up ${c.dim(`in ${(progress.total() / 1000).toFixed(2)}s`)}\n`);
  if (!o.verify) return 0;
  const { verify, formatReport } = await import('../../verify/index.js');
  const endVerify = progress.phase('verify');
  const report = await verify(p, provider);
  endVerify(`${report.summary.passed + report.summary.failed} checks`);
  console.log(formatReport(report, { color: colorEnabled(), compact: true }));
  const sw = p.switches.find((s) => s.bgp)?.name;
  const next = [`lab verify ${shown}`, ...(p.pods.length ? [`lab pods ${shown}`] : []), ...(sw ? [`lab exec ${shown} ${sw} -- vtysh -c 'show bgp summary'`] : []), `lab down ${shown}`];
  process.stderr.write(c.dim(`total ${(progress.total() / 1000).toFixed(2)}s; every check: lab verify ${shown}; try: ${next.slice(1).join(', ')}\n`));
  return reportExit(report);
}

/** Exit code of a verify report: 0 all passed, 1 any failed, 5 none failed but some unknown. */
export function reportExit(report: Report): number {
  if (report.summary.failed) return ExitCode.verifyFailed;
  const unknown = (report.summary as { unknown?: number }).unknown ?? 0;
  return unknown ? 5 : 0;
}

/** Progress that prints nothing: a class prints one line per instance instead. */
const quietProgress = (): Progress => ({ phase: () => () => undefined, info: () => undefined });

/** Copies brought up at once: the emulator's work is mostly waiting on daemons. */
export const defaultParallel = () => Math.max(2, Math.min(8, availableParallelism() * 2));

/** Run fn over items with at most `limit` at a time, in order of start. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** `lab up LAB --instances N|a,b,c`: the whole class in parallel, bounded, one line per instance. */
async function upClass(ref: string, o: UpOptions, names: string[], signal: AbortSignal): Promise<number> {
  const { loadPlan } = await import('../load.js');
  const p = await loadPlan(ref);
  requireRoot('lab up');
  const parallel = o.parallel === undefined ? defaultParallel() : Number(o.parallel);
  if (!Number.isInteger(parallel) || parallel < 1) throw badInput(`--parallel must be a positive whole number, got "${o.parallel}"`);
  const raw = await getProvider(o.provider);
  bindInstance(raw, names[0]); // refuses providers without instances before anything starts
  const already = (await Promise.all(names.map(async (n) => ((await findRunning(p.name, n)) ? n : undefined)))).filter(Boolean);
  if (already.length) throw new LabError(`already running: ${already.map((n) => `${p.name} --instance ${n}`).join(', ')}; bring them down first (lab down ${p.name} --all)`, ExitCode.notRunning);
  const t0 = performance.now();
  const secs = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  process.stderr.write(`${c.bold(`lab up ${p.name} --instances ${names.length}`)} ${c.dim(`(${o.provider}, ${Math.min(parallel, names.length)} at a time)`)}\n`);
  await ensureHost(raw, p, (m) => process.stderr.write(`  ${c.dim(m)}\n`));
  const { verify } = o.verify ? await import('../../verify/index.js') : { verify: undefined };
  const width = Math.max(...names.map((n) => n.length));
  type Result = { instance: string; state: 'up' | 'failed' | 'interrupted'; report?: Report; error?: string };
  const results = await pool(names, parallel, async (instance): Promise<Result> => {
    if (signal.aborted) return { instance, state: 'interrupted' };
    const provider = bindInstance(raw, instance);
    const started = performance.now();
    const line = (mark: string, text: string) => process.stderr.write(`  ${mark} ${instance.padEnd(width)}  ${text}\n`);
    try {
      await bringUp(p, provider, o.provider, instance, quietProgress(), signal);
      const upSecs = ((performance.now() - started) / 1000).toFixed(1);
      if (!verify) return line(c.green('✔'), `up in ${upSecs}s`), { instance, state: 'up' };
      const report = await verify(p, provider, { signal });
      const unknown = (report.summary as { unknown?: number }).unknown ?? 0;
      const verdict = report.summary.failed ? c.red(`${report.summary.failed} checks failed`) : unknown ? c.yellow(`${unknown} checks unknown`) : c.green(`${report.summary.passed} checks passed`);
      const bad = report.checks.filter((x) => !x.ok).slice(0, 3).map((x) => `\n      ${x.kind} ${x.subject}: expected ${x.expected}, observed ${x.observed}`).join('');
      line(reportExit(report) ? c.red('✘') : c.green('✔'), `up in ${upSecs}s, verified in ${((performance.now() - started) / 1000).toFixed(1)}s: ${verdict} ${c.dim(`(at ${secs()})`)}${bad}`);
      return { instance, state: 'up', report };
    } catch (e) {
      if (e instanceof Interrupted || signal.aborted) return { instance, state: 'interrupted' };
      const msg = e instanceof Error ? e.message : String(e);
      line(c.red('✘'), `failed: ${msg.split('\n').join('\n      ')}`);
      return { instance, state: 'failed', error: msg };
    }
  });
  if (signal.aborted) {
    // Copies already up when Ctrl-C came are removed too: a class comes up whole or not at all.
    await pool(results.filter((r) => r.state === 'up'), parallel, async (r) => { await bindInstance(raw, r.instance).down(p.name).catch(() => undefined); await forgetRunning(p.name, r.instance); });
    process.stderr.write('removed; nothing is left behind\n');
    return 130;
  }
  const failed = results.filter((r) => r.state === 'failed' || (r.report && reportExit(r.report)));
  process.stderr.write(`${failed.length ? c.red('✘') : c.green('✔')} ${names.length - failed.length} of ${names.length} instances of ${p.name} up${o.verify ? ' and verified' : ''} in ${secs()}`
    + `${failed.length ? `; not green: ${failed.map((r) => r.instance).join(', ')}` : ''}\n`);
  process.stderr.write(c.dim(`  see them: lab status; one of them: lab verify ${p.name} --instance ${names[0]}; the class down: lab down ${p.name} --all\n`));
  if (results.some((r) => r.state === 'failed')) return results.some((r) => r.error && /already running/.test(r.error)) ? ExitCode.notRunning : ExitCode.verifyFailed;
  return Math.max(0, ...results.map((r) => (r.report ? reportExit(r.report) : 0)));
}

/** What down removes: one copy, every copy of one lab (--all), or everything (--all, no LAB). */
async function targets(ref: string | undefined, o: { instance?: string; all?: boolean }): Promise<{ lab: string; instance?: string; provider: ProviderName }[]> {
  const instance = checkInstance(o.instance);
  if (o.all && instance) throw badInput('give either --instance NAME or --all, not both');
  if (!ref && !o.all) throw badInput('down needs a LAB, or --all to remove everything fabric-lab runs');
  const lab = ref === undefined ? undefined : labName(ref);
  if (!o.all) {
    const running = await findRunning(lab!, instance);
    return [{ lab: lab!, instance, provider: running?.provider ?? 'emulator' }];
  }
  const registered: { lab: string; instance?: string; provider: ProviderName }[] = (await listRunning()).map((r) => ({ lab: r.lab, instance: r.instance, provider: r.provider }));
  // Emulator copies whose registry entry was lost (an interrupted up) are removed too.
  const orphans = (await readdir(path.join(stateRoot, 'emulator')).catch(() => [] as string[]))
    .map(parseRunKey).filter((k) => !registered.some((r) => r.lab === k.lab && r.instance === k.instance))
    .map((k) => ({ ...k, provider: 'emulator' as const }));
  return [...registered, ...orphans].filter((r) => lab === undefined || r.lab === lab);
}

export async function down(ref: string | undefined, o: { instance?: string; all?: boolean } = {}): Promise<number> {
  const list = await targets(ref, o);
  if (list.some((r) => r.provider === 'emulator') || !list.length) requireRoot('lab down');
  const progress = stderrProgress();
  if (o.all && !list.length) {
    process.stderr.write(`  ${c.green('✔')} nothing ${ref ? `of ${labName(ref)} ` : ''}is running\n`);
    return 0;
  }
  const many = list.length > 1;
  await pool(list, many ? defaultParallel() : 1, async (r) => {
    const shown = displayRef(r);
    const running = await findRunning(r.lab, r.instance);
    const provider = bindInstance(await getProvider(r.provider), r.instance);
    const end = many ? undefined : progress.phase(`down ${shown}`);
    await provider.down(r.lab, many ? undefined : progress);
    await forgetFaults(runKey(r.lab, r.instance));
    await forgetRunning(r.lab, r.instance);
    const detail = running ? `removed from ${running.provider}` : 'was not running; nothing left';
    if (end) end(detail);
    else process.stderr.write(`  ${c.green('✔')} down ${shown} ${c.dim(`(${detail})`)}\n`);
  });
  return 0;
}

type Health = RunningLab & { status: Awaited<ReturnType<Provider['status']>>; faults: number };

async function healthOf(r: RunningLab): Promise<Health> {
  const faults = (await readFaults(runKey(r.lab, r.instance))).length;
  return { ...r, status: await bindInstance(await getProvider(r.provider), r.instance).status(r.lab), faults };
}

function healthText(h: Health): string {
  if (!h.status.running) return c.red('not running (state missing)');
  const bad = h.status.devices.filter((d) => !d.alive);
  return bad.length ? c.red(`${bad.length} down: ${bad.map((d) => d.name).join(', ')}`) : c.green('all alive');
}

const healthy = (h: Health) => h.status.running && h.status.devices.every((d) => d.alive);

function statusTable(all: Health[], o: { json?: boolean }): number {
  if (o.json) {
    printJson(all.map((r) => ({ lab: r.lab, instance: r.instance ?? null, provider: r.provider, startedAt: r.startedAt, running: r.status.running, healthy: healthy(r), devices: r.status.devices, faults: r.faults })));
    return 0;
  }
  if (!all.length) return console.log('no lab is running'), 0;
  console.log(table(['LAB', 'INSTANCE', 'PROVIDER', 'STARTED', 'DEVICES', 'FAULTS', 'HEALTH'], all.map((r) => [
    r.lab, r.instance ?? '-', r.provider, r.startedAt, String(r.status.devices.length), r.faults ? c.yellow(String(r.faults)) : '0', healthText(r),
  ])));
  return 0;
}

export async function status(ref: string | undefined, o: { json?: boolean; instance?: string }): Promise<number> {
  const instance = checkInstance(o.instance);
  const running = await listRunning();
  if (!ref) {
    if (instance) throw badInput('--instance needs a LAB: lab status LAB --instance NAME');
    return statusTable(await pool(running, defaultParallel(), healthOf), o);
  }
  const name = labName(ref);
  const r = await findRunning(name, instance);
  if (!r) {
    // `lab status LAB` of a lab that runs only as instances: the class at a glance.
    const copies = running.filter((x) => x.lab === name);
    if (!instance && copies.length) {
      const all = await pool(copies, defaultParallel(), healthOf);
      statusTable(all, o);
      return all.every(healthy) ? 0 : ExitCode.verifyFailed;
    }
    throw notRunning(`${displayRef({ lab: name, instance })} is not running (running: ${running.map((x) => displayRef(x)).join(', ') || 'none'})`);
  }
  const { status: st, faults } = await healthOf(r);
  if (o.json) return printJson({ ...st, ...(instance ? { instance } : {}), startedAt: r.startedAt, faults }), 0;
  console.log(`${c.bold(displayRef(r))} on ${r.provider} since ${r.startedAt}${faults ? c.yellow(`; ${faults} fault${faults > 1 ? 's' : ''} in force (lab fault ${displayRef(r)} list)`) : ''}`);
  console.log(table(['DEVICE', 'KIND', 'STATE', 'DETAIL'], st.devices.map((d) => [d.name, d.kind, d.alive ? c.green('up') : c.red('down'), d.detail])));
  return st.devices.every((d) => d.alive) ? 0 : ExitCode.verifyFailed;
}

/** The lab name of a LAB argument, without requiring the file to be valid (down must always work). */
export function labName(ref: string): string {
  const base = path.basename(resolveLabFile(ref)).replace(/\.ya?ml$/, '');
  if (!/^[a-z0-9-]{1,20}$/.test(base)) throw badInput(`"${ref}" is not a lab name (allowed: a-z, 0-9, -, up to 20 characters)`);
  return base;
}
