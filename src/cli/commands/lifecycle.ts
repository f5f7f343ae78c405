// Commands that change what runs: up, down, status.
import path from 'node:path';
import { stateRoot } from '../../paths.js';
import { getProvider, type ProviderName } from '../../providers/index.js';
import { findRunning, forgetRunning, listRunning, recordRunning } from '../../providers/registry.js';
import { ensureHost, requireRoot } from '../host.js';
import { stderrProgress } from '../progress.js';
import { table, printJson, c, colorEnabled } from '../output.js';
import { LabError, ExitCode, notRunning, badInput } from '../../errors.js';
import { resolveLabFile } from '../../lab/ref.js';

/** Where `up` keeps a running lab's artifacts (the libvirt provider's Vagrant project too). */
export const artifactsDirFor = (lab: string) => path.join(stateRoot, 'artifacts', lab);

export async function up(ref: string, o: { provider: ProviderName; verify: boolean }): Promise<number> {
  // Ctrl-C from the first moment: before anything exists it just stops; after, it cleans.
  const abort = new AbortController();
  const onSignal = () => {
    if (abort.signal.aborted) return;
    process.stderr.write(`\n${c.yellow('interrupted:')} stopping and removing everything this lab created…\n`);
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await upUntilSignal(ref, o, abort.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function upUntilSignal(ref: string, o: { provider: ProviderName; verify: boolean }, signal: AbortSignal): Promise<number> {
  const interrupted = () => (process.stderr.write('interrupted before anything was created\n'), 130);
  const { loadPlan } = await import('../load.js');
  const { renderFabric, renderRest, clearArtifacts, addArtifacts } = await import('../../render/index.js');
  const p = await loadPlan(ref);
  if (o.provider === 'emulator') requireRoot('lab up');
  const progress = stderrProgress();
  const running = await findRunning(p.name);
  if (running) {
    throw new LabError(`${p.name} is already running (on ${running.provider} since ${running.startedAt}); run \`lab down ${p.name}\` first`, ExitCode.notRunning);
  }
  process.stderr.write(`${c.bold(`lab up ${p.name}`)} ${c.dim(`(${o.provider})`)}\n`);
  if (signal.aborted) return interrupted();
  const provider = await getProvider(o.provider);
  const done = progress.phase('host packages');
  await ensureHost(provider, p, (m) => progress.info(m));
  done();

  const endRender = progress.phase('render');
  const dir = artifactsDirFor(p.name);
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
  if (signal.aborted) return await restWritten.then(interrupted, interrupted);
  // Recorded before anything is created, so `lab down` can always clean a half-built lab.
  await recordRunning({ lab: p.name, provider: o.provider, labFile: p.file, artifactsDir: dir, startedAt: new Date().toISOString() });
  try {
    await Promise.all([provider.up(p, dir, progress, signal), restWritten]);
    if (signal.aborted) throw new Error('interrupted');
  } catch (e) {
    // "Already running" (the provider's state disagrees with our registry): never tear down what runs.
    if (e instanceof LabError && e.exitCode === ExitCode.notRunning) {
      await forgetRunning(p.name);
      throw e;
    }
    await provider.down(p.name).catch(() => undefined);
    await forgetRunning(p.name);
    if (signal.aborted) {
      process.stderr.write('removed; nothing is left behind\n');
      return 130;
    }
    throw e;
  }
  process.stderr.write(`  ${c.green('✔')} ${p.name} is up ${c.dim(`in ${(progress.total() / 1000).toFixed(2)}s`)}\n`);
  if (!o.verify) return 0;
  const { verify, formatReport } = await import('../../verify/index.js');
  const endVerify = progress.phase('verify');
  const report = await verify(p, provider);
  endVerify(`${report.summary.passed + report.summary.failed} checks`);
  console.log(formatReport(report, { color: colorEnabled(), compact: true }));
  const sw = p.switches.find((s) => s.bgp)?.name;
  const next = [`lab verify ${p.name}`, ...(p.pods.length ? [`lab pods ${p.name}`] : []), ...(sw ? [`lab exec ${p.name} ${sw} -- vtysh -c 'show bgp summary'`] : []), `lab down ${p.name}`];
  process.stderr.write(c.dim(`total ${(progress.total() / 1000).toFixed(2)}s; every check: lab verify ${p.name}; try: ${next.slice(1).join(', ')}\n`));
  return report.ok ? 0 : ExitCode.verifyFailed;
}

export async function down(ref: string): Promise<number> {
  const name = labName(ref);
  const running = await findRunning(name);
  const progress = stderrProgress();
  if (running?.provider === 'emulator' || !running) requireRoot('lab down');
  const provider = await getProvider(running?.provider ?? 'emulator');
  const end = progress.phase(`down ${name}`);
  await provider.down(name, progress);
  await forgetRunning(name);
  end(running ? `removed from ${running.provider}` : 'was not running; nothing left');
  return 0;
}

export async function status(ref: string | undefined, o: { json?: boolean }): Promise<number> {
  const running = await listRunning();
  if (!ref) {
    const all = await Promise.all(running.map(async (r) => ({ ...r, status: await (await getProvider(r.provider)).status(r.lab) })));
    if (o.json) return printJson(all.map((r) => ({ lab: r.lab, provider: r.provider, startedAt: r.startedAt, running: r.status.running, devices: r.status.devices }))), 0;
    if (!all.length) return console.log('no lab is running'), 0;
    console.log(table(['LAB', 'PROVIDER', 'STARTED', 'DEVICES', 'HEALTH'], all.map((r) => {
      const bad = r.status.devices.filter((d) => !d.alive);
      return [r.lab, r.provider, r.startedAt, String(r.status.devices.length), bad.length ? c.red(`${bad.length} down: ${bad.map((d) => d.name).join(', ')}`) : c.green('all alive')];
    })));
    return 0;
  }
  const name = labName(ref);
  const r = await findRunning(name);
  if (!r) throw notRunning(`${name} is not running (running: ${running.map((x) => x.lab).join(', ') || 'none'})`);
  const st = await (await getProvider(r.provider)).status(name);
  if (o.json) return printJson({ ...st, startedAt: r.startedAt }), 0;
  console.log(`${c.bold(name)} on ${r.provider} since ${r.startedAt}`);
  console.log(table(['DEVICE', 'KIND', 'STATE', 'DETAIL'], st.devices.map((d) => [d.name, d.kind, d.alive ? c.green('up') : c.red('down'), d.detail])));
  return st.devices.every((d) => d.alive) ? 0 : ExitCode.verifyFailed;
}

/** The lab name of a LAB argument, without requiring the file to be valid (down must always work). */
export function labName(ref: string): string {
  const base = path.basename(resolveLabFile(ref)).replace(/\.ya?ml$/, '');
  if (!/^[a-z0-9-]{1,20}$/.test(base)) throw badInput(`"${ref}" is not a lab name (allowed: a-z, 0-9, -, up to 20 characters)`);
  return base;
}

