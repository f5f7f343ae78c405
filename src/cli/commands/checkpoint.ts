// `lab checkpoint LAB save NAME | restore NAME | list` (DESIGN 8): the running state a
// course builds on. Saved: each switch's running FRR config, the NetworkPolicies, the
// faults in force and the exercise progress. Restore rebuilds the copy clean, then puts
// back switch configs (zebra+bgpd restarted on the switches whose config differs),
// policies, link-down faults and the exercise (with its breaks if it was not solved).
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { stateRoot } from '../../paths.js';
import { badInput, LabError, ExitCode, notRunning } from '../../errors.js';
import { readJson, writeJsonAtomic, isObject } from '../../state/json-file.js';
import { attach, type InstanceOption } from './observe.js';
import { c, printJson, table } from '../output.js';
import { stderrProgress } from '../progress.js';
import { displayRef, runKey } from '../../workshop/instance.js';
import { readExerciseState, writeExerciseState, applyBreaks, type ExerciseState } from '../../workshop/exercise-run.js';
import { loadExercise } from '../../workshop/exercise.js';
import { loadPlan } from '../load.js';
import { findRunning, forgetRunning } from '../../providers/registry.js';
import { upCopy } from './lifecycle.js';
import type { FaultRecord } from '../../fault/model.js';
import { frrConfDir, namespaceOf } from '../../providers/emulator/names.js';

interface Checkpoint {
  lab: string;
  instance?: string;
  name: string;
  savedAt: string;
  switches: Record<string, string>;
  policies: unknown[];
  faults: FaultRecord[];
  exercise: ExerciseState | null;
}

const CP_NAME = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;
const dir = (key: string) => path.join(stateRoot, 'checkpoints', key);

/** FRR's running config without the header lines that differ between runs. */
const normalise = (conf: string) => conf.split('\n').filter((l) => !/^(Building configuration|Current configuration|!$|frr version|end$)/.test(l.trim())).join('\n').trim();

export async function checkpointCmd(ref: string, action: string, args: string[], o: InstanceOption & { json?: boolean }): Promise<number> {
  const { plan, provider, running } = await attach(ref, o);
  if (running.provider !== 'emulator') throw badInput('checkpoints run on the emulator');
  const key = runKey(running.lab, running.instance);
  const shown = displayRef(running);
  if (action === 'list') {
    const names = (await readdir(dir(key)).catch(() => [] as string[])).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
    const cps = (await Promise.all(names.map((n) => readJson<Checkpoint>(path.join(dir(key), `${n}.json`), (v) => (isObject(v) ? undefined : 'not an object')))))
      .flatMap((r) => (r.kind === 'ok' ? [r.value] : []));
    if (o.json) return printJson(cps.map((x) => ({ name: x.name, savedAt: x.savedAt, faults: x.faults.length, policies: x.policies.length, exercise: x.exercise?.exercise ?? null }))), 0;
    if (!cps.length) return console.log(`no checkpoint of ${shown}; save one: lab checkpoint ${shown} save NAME`), 0;
    console.log(table(['CHECKPOINT', 'SAVED', 'FAULTS', 'POLICIES', 'EXERCISE'], cps.map((x) => [x.name, x.savedAt, String(x.faults.length), String(x.policies.length), x.exercise?.exercise ?? '-'])));
    return 0;
  }
  if (action !== 'save' && action !== 'restore') throw badInput(`unknown checkpoint action "${action}": use save NAME, restore NAME or list`);
  if (args.length !== 1 || !CP_NAME.test(args[0])) throw badInput(`usage: lab checkpoint ${shown} ${action} NAME (NAME: lowercase letters, digits and "-")`);
  const name = args[0];
  const file = path.join(dir(key), `${name}.json`);
  const { readFaults, writeFaults } = await import('../../fault/store.js');
  const policies = await import('../../providers/emulator/policies.js');

  if (action === 'save') {
    const switches: Record<string, string> = {};
    await Promise.all(plan.switches.filter((s) => s.bgp).map(async (s) => {
      const r = await provider.exec(plan.name, s.name, ['vtysh', '-c', 'show running-config'], { timeoutMs: 10_000 });
      if (r.exitCode !== 0) throw new LabError(`cannot read the running config of ${s.name}: ${r.stderr.trim() || `exit ${r.exitCode}`}`, ExitCode.hostLacks);
      switches[s.name] = r.stdout;
    }));
    const cp: Checkpoint = {
      lab: running.lab, ...(running.instance ? { instance: running.instance } : {}), name, savedAt: new Date().toISOString(),
      switches, policies: await policies.readPolicies(key), faults: await readFaults(key), exercise: (await readExerciseState(running.lab, running.instance)) ?? null,
    };
    await writeJsonAtomic(file, cp);
    console.log(`saved ${shown} as checkpoint ${name}: ${Object.keys(switches).length} switch configs, ${cp.policies.length} policies, ${cp.faults.length} faults${cp.exercise ? `, exercise ${cp.exercise.exercise}` : ''}`);
    return 0;
  }

  const r = await readJson<Checkpoint>(file, (v) => (isObject(v) && isObject(v.switches) ? undefined : 'not a checkpoint'));
  if (r.kind === 'missing') throw notRunning(`no checkpoint ${name} of ${shown} (lab checkpoint ${shown} list)`);
  if (r.kind === 'damaged') throw badInput(`checkpoint ${r.file} is damaged: ${r.reason}`);
  const cp = r.value;
  const progress = stderrProgress();
  let end = progress.phase(`rebuild ${shown}`);
  await provider.down(plan.name);
  await forgetRunning(running.lab, running.instance);
  const fresh = await upCopy(plan, running.instance, { phase: () => () => undefined, info: () => undefined });
  end();
  // Switch configs: only where the checkpoint ran something else than the lab as shipped.
  end = progress.phase('switch configs');
  const changed: string[] = [];
  for (const [sw, conf] of Object.entries(cp.switches)) {
    const now = await fresh.exec(plan.name, sw, ['vtysh', '-c', 'show running-config'], { timeoutMs: 10_000 });
    if (normalise(now.stdout) === normalise(conf)) continue;
    changed.push(sw);
    const target = path.join(frrConfDir(namespaceOf(key, sw)), 'frr.conf');
    await fresh.exec(plan.name, sw, ['tee', target], { input: conf });
    for (const d of ['bgpd', 'zebra'] as const) await fresh.daemon!(plan.name, sw, d, 'stop');
    for (const d of ['zebra', 'bgpd'] as const) await fresh.daemon!(plan.name, sw, d, 'start');
  }
  end(changed.length ? `restarted FRR on ${changed.join(', ')}` : 'as shipped');
  if (cp.policies.length) {
    const { enforce } = await import('./policy.js');
    await enforce(plan, fresh, cp.policies as never, [], () => policies.writePolicies(key, cp.policies as never));
  }
  // Faults: links are put down again; config faults came back with the switch configs;
  // others (netem, daemons) are listed as not restored.
  const notRestored: string[] = [];
  const kept: FaultRecord[] = [];
  for (const f of cp.faults) {
    // A link fault's undo sets each end up (`ip link set dev X up`, maybe with routes): set them down.
    const ends = f.undo.map((s) => (s.op === 'exec' ? { device: s.device, iface: /ip link set dev (\S+) up/.exec(s.argv.join(' '))?.[1] } : undefined));
    if (f.kind === 'link' && ends.every((e) => e?.iface)) {
      for (const e of ends) await fresh.exec(plan.name, e!.device, ['ip', 'link', 'set', 'dev', e!.iface!, 'down']);
      kept.push(f);
    } else if (f.kind === 'config' && changed.some((sw) => f.devices.includes(sw))) kept.push(f);
    else notRestored.push(`${f.kind} ${f.target}`);
  }
  await writeFaults(key, kept);
  if (cp.exercise) {
    const { exercise, plan: exPlan } = await loadExercise(cp.exercise.exercise, loadPlan).catch(() => ({ exercise: undefined, plan: undefined }));
    if (exercise && exPlan && !cp.exercise.last?.solved) await applyBreaks(exercise, exPlan, fresh, running.instance);
    await writeExerciseState(cp.exercise);
  }
  if (!(await findRunning(running.lab, running.instance))) throw new LabError(`${shown} did not come back`, ExitCode.hostLacks);
  console.log(`${shown} restored to checkpoint ${name} (saved ${cp.savedAt})${notRestored.length ? c.yellow(`; not restored: ${notRestored.join(', ')}`) : ''}`);
  return 0;
}
