// Commands that change what runs: up (one copy or a class of instances), down, status.
//
// up and down take the copy's lock (src/state/lock.ts): a second `up` of a copy being
// brought up fails at once (exit 3, naming the holder); `down` while `up` runs stops that
// `up` (SIGTERM: it removes what it built and exits 130), waits for the lock and then cleans
// whatever is left. Ctrl-C, SIGTERM and SIGHUP at any moment of `up`, the final verify
// included, remove the lab and exit 130.
import path from 'node:path';
import { readdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { stateRoot } from '../../paths.js';
import { getProvider, type ProviderName } from '../../providers/index.js';
import { findRunning, forgetRunning, isDamaged, listRegistry, listRunning, readRunning, recordRunning, type RunningLab } from '../../providers/registry.js';
import { acquireLabLock, describeHolder, type LabLock, type LockHolder } from '../../state/lock.js';
import type { Plan } from '../../plan/types.js';
import type { DownReport, Progress, Provider } from '../../providers/types.js';
import { ensureHost, requireRoot } from '../host.js';
import { stderrProgress } from '../progress.js';
import { table, printJson, c, colorEnabled } from '../output.js';
import { LabError, ExitCode, notRunning, badInput } from '../../errors.js';
import { knownLab, labName } from '../labref.js';
import { forgetFaults, readFaults } from '../../fault/store.js';
import { bindInstance, checkInstance, classNames, displayRef, parseRunKey, runKey } from '../../workshop/instance.js';
import type { Report } from '../../verify/index.js';

/** Where `up` keeps a running copy's artifacts (the libvirt provider's Vagrant project too). */
export const artifactsDirFor = (lab: string, instance?: string) => path.join(stateRoot, 'artifacts', runKey(lab, instance));

interface UpOptions { provider: ProviderName; verify: boolean; instance?: string; instances?: string; parallel?: string }

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Ctrl-C (and SIGTERM, SIGHUP: a closed terminal) from the first moment: before anything
 * exists it just stops; after, it cleans. A second signal does not cut the cleanup short.
 */
async function withAbort<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    if (abort.signal.aborted) return void process.stderr.write(c.yellow(`${sig}: still removing everything ${what} created, one moment…\n`));
    process.stderr.write(`\n${c.yellow(`interrupted (${sig}):`)} stopping and removing everything ${what} created…\n`);
    abort.abort(new Interrupted(`interrupted by ${sig}`));
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    return await fn(abort.signal);
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}

/** Reject as soon as the signal aborts, whatever `work` is still doing. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * The lock of the copy `up` is about to build. Another `up` of it: exit 3 at once, naming
 * it. Anything else (a `down`, a fault): wait for it, saying so.
 */
async function lockForUp(lab: string, instance: string | undefined, progress: Progress, signal: AbortSignal): Promise<LabLock> {
  const shown = displayRef({ lab, instance });
  try {
    return await acquireLabLock(runKey(lab, instance), {
      command: `up ${shown}`, signal,
      onBusy: (h) => {
        if (h?.command.startsWith('up ')) throw new LabError(`${shown} is already being brought up by ${describeHolder(h)}; wait for it, or stop it with \`lab down ${shown}\``, ExitCode.notRunning);
        progress.info(`waiting for ${describeHolder(h)} to finish with ${shown}…`);
        return 'wait';
      },
    });
  } catch (e) {
    if (signal.aborted) throw new Interrupted('interrupted before anything was created');
    throw e;
  }
}

/** Provider down (returns what it found and refused), then the artifacts, the faults and the registry entry (last). */
async function removeCopy(lab: string, instance: string | undefined, provider: Provider, progress: Progress | undefined, dir: string): Promise<DownReport | void> {
  const report = await provider.down(lab, progress);
  await rm(dir, { recursive: true, force: true });
  await forgetFaults(runKey(lab, instance));
  await forgetRunning(lab, instance);
  return report;
}

export async function up(ref: string, o: UpOptions): Promise<number> {
  const instance = checkInstance(o.instance);
  if (o.instances !== undefined) {
    if (instance) throw badInput('give either --instance NAME or --instances N|LIST, not both');
    return withAbort('the class', (signal) => upClass(ref, o, classNames(o.instances!), signal));
  }
  return withAbort('this lab', (signal) => upOne(ref, o, instance, signal));
}

export class Interrupted extends Error {}

/** Bring one emulator copy up (no verify): for exercises and checkpoints that rebuild a copy. */
export async function upCopy(p: Plan, instance: string | undefined, progress: Progress, signal: AbortSignal = new AbortController().signal, frrConfigs?: Record<string, string>): Promise<Provider> {
  requireRoot('lab up');
  const raw = await getProvider('emulator');
  const provider = bindInstance(raw, instance);
  await ensureHost(raw, p, (m) => progress.info(m));
  await bringUp(p, provider, 'emulator', instance, progress, signal, frrConfigs);
  return provider;
}

/**
 * Render, record, build one copy; on failure or Ctrl-C remove what was built.
 * Throws Interrupted when the signal stopped it (after cleaning).
 */
async function bringUp(p: Plan, provider: Provider, providerName: ProviderName, instance: string | undefined, progress: Progress, signal: AbortSignal,
  frrConfigs?: Record<string, string>): Promise<void> {
  const { renderFabric, renderRest, clearArtifacts, addArtifacts } = await import('../../render/index.js');
  const running = await readRunning(p.name, instance);
  const r = displayRef({ lab: p.name, instance });
  if (running.kind === 'ok') {
    throw new LabError(`${r} is already running (on ${running.value.provider} since ${running.value.startedAt}); run \`lab down ${r}\` first`, ExitCode.notRunning);
  }
  if (running.kind === 'damaged') {
    throw new LabError(`${r} may still be running: its registry entry ${running.file} is damaged (${running.reason}); run \`lab down ${r}\` first`, ExitCode.notRunning);
  }
  const endRender = progress.phase('render');
  const dir = artifactsDirFor(p.name, instance);
  await clearArtifacts(dir);
  // A checkpoint restores switches with the configs they ran when it was saved.
  const switchConfigs = renderFabric(p).map((a) => {
    const m = /^fabric-configs\/([^/]+)\/frr\.conf$/.exec(a.path);
    return m && frrConfigs?.[m[1]] !== undefined ? { ...a, content: frrConfigs[m[1]] } : a;
  });
  await addArtifacts(dir, switchConfigs);
  // A provider that reads only the switch configs (the emulator) gets only those: the rest
  // (Vagrantfile, provisioning scripts, Calico and kubeadm files: 1,370 files for dc-256,
  // 5,270 for dc-1024) is `lab render`'s. Writing them during every `up` competed with the
  // build for CPU: on this host's ext4 (no journal) creating files right after `down`
  // deleted the last run's was 4% of dc-256's `up` CPU in the CLI alone (bench/README).
  if (provider.upReads === 'all') {
    const rest = renderRest(p);
    await addArtifacts(dir, rest);
    endRender(`${switchConfigs.length + rest.length} files in ${dir}`);
  } else endRender(`${switchConfigs.length} switch files in ${dir}; \`lab render\` writes every artifact`);
  if (signal.aborted) { await rm(dir, { recursive: true, force: true }); throw new Interrupted('interrupted before anything was created'); }
  // Recorded before anything is created, so `lab down` can always clean a half-built lab.
  await forgetFaults(runKey(p.name, instance));
  await recordRunning({ lab: p.name, ...(instance ? { instance } : {}), provider: providerName, labFile: p.file, artifactsDir: dir, startedAt: new Date().toISOString() });
  try {
    await provider.up(p, dir, progress, signal);
    signal.throwIfAborted();
  } catch (e) {
    // "Already running" (the provider's state disagrees with our registry): never tear down what runs.
    if (e instanceof LabError && e.exitCode === ExitCode.notRunning && !signal.aborted) {
      await forgetRunning(p.name, instance);
      throw e;
    }
    await removeAfterFailure(p.name, instance, provider, dir);
    if (signal.aborted) throw new Interrupted('removed; nothing is left behind');
    throw e;
  }
}

/** Failed or interrupted: remove all of it, the copy was never handed to the user. */
async function removeAfterFailure(lab: string, instance: string | undefined, provider: Provider, dir: string): Promise<void> {
  const report = await removeCopy(lab, instance, provider, undefined, dir).catch((e: Error) => ({ found: true, warnings: [e.message] }));
  for (const w of report?.warnings ?? []) process.stderr.write(`  ${c.yellow('warning:')} ${w}\n`);
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
  let report: Report | undefined;
  try {
    const lock = await lockForUp(p.name, instance, progress, signal);
    try {
      await bringUp(p, provider, o.provider, instance, progress, signal);
      process.stderr.write(`  ${c.green('✔')} ${shown} is up ${c.dim(`in ${(progress.total() / 1000).toFixed(2)}s`)}\n`);
      if (o.verify) report = await verifyAfterUp(p, provider, instance, progress, signal);
    } finally {
      await lock.release();
    }
  } catch (e) {
    if (e instanceof Interrupted) return process.stderr.write(`${e.message}\n`), 130;
    throw e;
  }
  if (!report) return 0;
  const { formatReport } = await import('../../verify/index.js');
  console.log(formatReport(report, { color: colorEnabled(), compact: true }));
  const sw = p.switches.find((s) => s.bgp)?.name;
  const next = [`lab verify ${shown}`, ...(p.pods.length ? [`lab pods ${shown}`] : []), ...(sw ? [`lab exec ${shown} ${sw} -- vtysh -c 'show bgp summary'`] : []), `lab down ${shown}`];
  process.stderr.write(c.dim(`total ${(progress.total() / 1000).toFixed(2)}s; every check: lab verify ${shown}; try: ${next.slice(1).join(', ')}\n`));
  return reportExit(report);
}

/** The verify at the end of `up`; a signal during it removes the copy (Interrupted). */
async function verifyAfterUp(p: Plan, provider: Provider, instance: string | undefined, progress: Progress, signal: AbortSignal): Promise<Report> {
  const { verifyWithServices } = await import('../../policy/verify.js');
  const verify = (plan: typeof p, prov: typeof provider, opts: { signal?: AbortSignal }) => verifyWithServices(plan, prov, [], opts);
  const endVerify = progress.phase('verify');
  // Given the signal, so its capture stops at once; raced against it, so the teardown
  // does not wait for pings in flight (they fail once the namespaces are gone).
  const running = verify(p, provider, { signal });
  running.catch(() => undefined); // after an interrupt its end is awaited below, its error is of no interest
  try {
    const report = await untilAborted(running, signal);
    signal.throwIfAborted();
    const { passed, failed, unknown } = report.summary;
    endVerify(`${passed + failed + unknown} checks${report.sample.pairs < report.sample.of ? `, ${report.sample.pairs} of ${report.sample.of} pod pairs` : ''}`);
    return report;
  } catch (e) {
    if (!signal.aborted) throw e;
    await removeAfterFailure(p.name, instance, provider, artifactsDirFor(p.name, instance));
    await running.catch(() => undefined); // nothing it started (tcpdump, ping) outlives the CLI's word
    throw new Interrupted('removed; nothing is left behind');
  }
}

/** Exit code of a verify report: 0 all passed, 1 any failed, 5 none failed but some unknown. */
export function reportExit(report: Report): number {
  if (report.summary.failed) return ExitCode.verifyFailed;
  return report.summary.unknown ? ExitCode.verifyUnknown : ExitCode.ok;
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
  const { verifyWithServices } = await import('../../policy/verify.js');
  const verify = o.verify ? (plan: Parameters<typeof verifyWithServices>[0], prov: Parameters<typeof verifyWithServices>[1], opts: { signal?: AbortSignal }) => verifyWithServices(plan, prov, [], opts) : undefined;
  const width = Math.max(...names.map((n) => n.length));
  type Result = { instance: string; state: 'up' | 'failed' | 'interrupted'; report?: Report; error?: string };
  const results = await pool(names, parallel, async (instance): Promise<Result> => {
    if (signal.aborted) return { instance, state: 'interrupted' };
    const provider = bindInstance(raw, instance);
    const started = performance.now();
    const line = (mark: string, text: string) => process.stderr.write(`  ${mark} ${instance.padEnd(width)}  ${text}\n`);
    let lock: LabLock | undefined;
    try {
      lock = await lockForUp(p.name, instance, quietProgress(), signal);
      await bringUp(p, provider, o.provider, instance, quietProgress(), signal);
      const upSecs = ((performance.now() - started) / 1000).toFixed(1);
      if (!verify) return line(c.green('✔'), `up in ${upSecs}s`), { instance, state: 'up' };
      const report = await verify(p, provider, { signal });
      const unknown = report.summary.unknown;
      const verdict = report.summary.failed ? c.red(`${report.summary.failed} checks failed`) : unknown ? c.yellow(`${unknown} checks unknown`) : c.green(`${report.summary.passed} checks passed`);
      const bad = report.checks.filter((x) => !x.ok).slice(0, 3).map((x) => `\n      ${x.kind} ${x.subject}: expected ${x.expected}, observed ${x.observed}`).join('');
      line(reportExit(report) ? c.red('✘') : c.green('✔'), `up in ${upSecs}s, verified in ${((performance.now() - started) / 1000).toFixed(1)}s: ${verdict} ${c.dim(`(at ${secs()})`)}${bad}`);
      return { instance, state: 'up', report };
    } catch (e) {
      if (e instanceof Interrupted || signal.aborted) return { instance, state: 'interrupted' };
      const msg = e instanceof Error ? e.message : String(e);
      line(c.red('✘'), `failed: ${msg.split('\n').join('\n      ')}`);
      return { instance, state: 'failed', error: msg };
    } finally {
      await lock?.release();
    }
  });
  if (signal.aborted) {
    // Copies already up when Ctrl-C came are removed too: a class comes up whole or not at all.
    await pool(results.filter((r) => r.state === 'up'), parallel, (r) => removeAfterFailure(p.name, r.instance, bindInstance(raw, r.instance), artifactsDirFor(p.name, r.instance)));
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
    const { running } = await knownLab(ref!, instance);
    return [{ lab: lab!, instance, provider: running?.provider ?? 'emulator' }];
  }
  const registered: { lab: string; instance?: string; provider: ProviderName }[] = (await listRunning()).map((r) => ({ lab: r.lab, instance: r.instance, provider: r.provider }));
  // Emulator copies whose registry entry was lost (an interrupted up) are removed too.
  const orphans = (await readdir(path.join(stateRoot, 'emulator')).catch(() => [] as string[]))
    .map(parseRunKey).filter((k) => !registered.some((r) => r.lab === k.lab && r.instance === k.instance))
    .map((k) => ({ ...k, provider: 'emulator' as const }));
  const found = [...registered, ...orphans].filter((r) => lab === undefined || r.lab === lab);
  // Nothing of that name runs: a real lab is simply down, a typo is bad input (did you mean).
  if (lab !== undefined && !found.length) await knownLab(ref!);
  return found;
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
    const lock = await acquireLabLock(runKey(r.lab, r.instance), {
      command: `down ${shown}`,
      onBusy: (h) => {
        if (h?.command.startsWith('up ')) stopUp(h, progress);
        else progress.info(`waiting for ${describeHolder(h)} to finish with ${shown}…`);
        return 'wait';
      },
    });
    try {
      const running = await readRunning(r.lab, r.instance);
      if (running.kind === 'damaged') progress.info(`the registry entry ${running.file} is damaged (${running.reason}): cleaning what the emulator made under ${shown}'s names`);
      const providerName = running.kind === 'ok' ? running.value.provider : r.provider;
      const provider = bindInstance(await getProvider(providerName), r.instance);
      const end = many ? undefined : progress.phase(`down ${shown}`);
      const report = await removeCopy(r.lab, r.instance, provider, many ? undefined : progress, running.kind === 'ok' ? running.value.artifactsDir : artifactsDirFor(r.lab, r.instance));
      for (const w of report?.warnings ?? []) process.stderr.write(`  ${c.yellow('warning:')} ${shown}: ${w}\n`);
      const detail = running.kind !== 'missing' || report?.found ? `removed from ${providerName}` : 'was not running; nothing left';
      if (end) end(detail);
      else process.stderr.write(`  ${c.green('✔')} down ${shown} ${c.dim(`(${detail})`)}\n`);
    } finally {
      await lock.release();
    }
  });
  return 0;
}

/** How long `down` gives an `up` it stopped to clean up before killing it (down then cleans). */
const STOP_UP_GRACE_MS = Number(process.env.FABRIC_LAB_STOP_UP_GRACE_MS ?? 60_000);

/** `down` while `up` runs: SIGTERM that `up` (it removes what it built and exits 130); SIGKILL it if it hangs. */
function stopUp(h: LockHolder, progress: Progress): void {
  progress.info(`stopping ${describeHolder(h)} first…`);
  try { process.kill(h.pid, 'SIGTERM'); } catch { return; }
  setTimeout(() => { try { process.kill(h.pid, 'SIGKILL'); } catch { /* gone */ } }, STOP_UP_GRACE_MS).unref();
}

type Health = RunningLab & { status: Awaited<ReturnType<Provider['status']>>; faults: number };

async function healthOf(r: RunningLab): Promise<Health> {
  const faults = (await readFaults(runKey(r.lab, r.instance)).catch(() => [])).length;
  try {
    return { ...r, status: await bindInstance(await getProvider(r.provider), r.instance).status(r.lab), faults };
  } catch (e) {
    // One copy that cannot be read never hides the others.
    return { ...r, status: { lab: r.lab, provider: r.provider, running: false, devices: [], problem: (e as Error).message }, faults };
  }
}

/** A registry entry that cannot be read, shown as a row that says what to do. */
function damagedRow(d: { lab: string; instance?: string; damaged: string }): Health {
  const shown = displayRef(d);
  return { lab: d.lab, ...(d.instance ? { instance: d.instance } : {}), provider: 'emulator', labFile: '', artifactsDir: '', startedAt: '-', faults: 0,
    status: { lab: d.lab, provider: 'emulator', running: false, devices: [], problem: `registry entry damaged (${d.damaged}); run \`lab down ${shown}\`` } };
}

function healthText(h: Health): string {
  if (h.status.problem) return c.red(h.status.problem);
  if (!h.status.running) return c.red('not running (state missing)');
  if (!h.status.devices.length) return c.red('no devices');
  const bad = h.status.devices.filter((d) => !d.alive);
  return bad.length ? c.red(`${bad.length} down: ${bad.map((d) => d.name).join(', ')}`) : c.green('all alive');
}

/** A damaged state or a copy without devices is never healthy. */
const healthy = (h: Health) => h.status.running && !h.status.problem && h.status.devices.length > 0 && h.status.devices.every((d) => d.alive);

function statusTable(all: Health[], o: { json?: boolean }): number {
  if (o.json) {
    printJson(all.map((r) => ({ lab: r.lab, instance: r.instance ?? null, provider: r.provider, startedAt: r.startedAt, running: r.status.running, healthy: healthy(r), devices: r.status.devices, faults: r.faults, ...(r.status.problem ? { problem: r.status.problem } : {}) })));
    return all.some(devicesDown) ? ExitCode.verifyFailed : 0;
  }
  if (!all.length) return console.log('no lab is running'), 0;
  console.log(table(['LAB', 'INSTANCE', 'PROVIDER', 'STARTED', 'DEVICES', 'FAULTS', 'HEALTH'], all.map((r) => [
    r.lab, r.instance ?? '-', r.provider, r.startedAt, String(r.status.devices.length), r.faults ? c.yellow(String(r.faults)) : '0', healthText(r),
  ])));
  // Rows with a damaged state already say what to run; a device down is what exits 1.
  const sick = all.filter(devicesDown);
  for (const r of sick) process.stderr.write(`${bringBack(displayRef(r), r.status)}\n`);
  return sick.length ? ExitCode.verifyFailed : 0;
}

const devicesDown = (h: Health) => h.status.devices.some((d) => !d.alive);

/** What to run when a copy is not healthy (status exits 1 then). */
function bringBack(shown: string, st: Health['status']): string {
  const bad = st.devices.filter((d) => !d.alive);
  if (st.problem || !bad.length) return `${shown}: ${st.problem ?? 'its state is missing'}; remove what is left with: lab down ${shown}`;
  // A stopped daemon comes back with lab fault; a lost namespace only with a rebuild.
  const starts = bad.flatMap((d) => [...d.detail.matchAll(/\b(zebra|bgpd|bird) not running/g)].map((m) => `lab fault ${shown} daemon ${d.name} ${m[1]} start`));
  const rebuild = `lab down ${shown} && lab up ${shown}`;
  const why = bad.map((d) => d.detail.split(', ').filter((x) => /not running|missing/.test(x)).join(', ') || d.detail).join('; ');
  return `${shown}: ${bad.map((d) => d.name).join(', ')} ${bad.length > 1 ? 'are' : 'is'} down (${why}). `
    + `To bring ${bad.length > 1 ? 'them' : 'it'} back: ${starts.length ? `${starts.join('; ')} (or rebuild: ${rebuild})` : rebuild}`;
}

export async function status(ref: string | undefined, o: { json?: boolean; instance?: string }): Promise<number> {
  const instance = checkInstance(o.instance);
  const entries = await listRegistry();
  const running = entries.filter((e): e is RunningLab => !isDamaged(e));
  if (!ref) {
    if (instance) throw badInput('--instance needs a LAB: lab status LAB --instance NAME');
    return statusTable(await pool(entries, defaultParallel(), async (e) => (isDamaged(e) ? damagedRow(e) : healthOf(e))), o);
  }
  const { name } = await knownLab(ref, instance);
  const damaged = entries.find((e) => isDamaged(e) && e.lab === name && e.instance === instance);
  if (damaged && isDamaged(damaged)) throw notRunning(`${displayRef(damaged)}: its registry entry is damaged (${damaged.damaged}); run \`lab down ${displayRef(damaged)}\` to remove what is left of it`);
  const r = running.find((e) => e.lab === name && e.instance === instance);
  if (!r) {
    // `lab status LAB` of a lab that runs only as instances: the class at a glance.
    const copies = running.filter((x) => x.lab === name);
    if (!instance && copies.length) {
      return statusTable(await pool(copies, defaultParallel(), healthOf), o);
    }
    throw notRunning(`${displayRef({ lab: name, instance })} is not running (running: ${running.map((x) => displayRef(x)).join(', ') || 'none'})`);
  }
  const h = await healthOf(r);
  const { status: st, faults } = h;
  const code = healthy(h) ? 0 : ExitCode.verifyFailed;
  if (o.json) return printJson({ ...st, ...(instance ? { instance } : {}), startedAt: r.startedAt, faults }), code;
  console.log(`${c.bold(displayRef(r))} on ${r.provider} since ${r.startedAt}${faults ? c.yellow(`; ${faults} fault${faults > 1 ? 's' : ''} in force (lab fault ${displayRef(r)} list)`) : ''}`);
  if (st.problem) return console.log(c.red(st.problem)), ExitCode.verifyFailed;
  console.log(table(['DEVICE', 'KIND', 'STATE', 'DETAIL'], st.devices.map((d) => [d.name, d.kind, d.alive ? c.green('up') : c.red('down'), d.detail])));
  if (code) process.stderr.write(`${bringBack(displayRef(r), st)}\n`);
  return code;
}

export { labName } from '../labref.js';
