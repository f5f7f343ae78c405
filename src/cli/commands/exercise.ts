// `lab exercise list | start | check | hint | reset` (DESIGN 8, 8.1, 8.2).
import { loadPlan } from '../load.js';
import { getProvider } from '../../providers/index.js';
import { findRunning, forgetRunning } from '../../providers/registry.js';
import { LabError, ExitCode, notRunning } from '../../errors.js';
import { c, printJson, table } from '../output.js';
import { stderrProgress } from '../progress.js';
import { bindInstance, checkInstance, displayRef } from '../../workshop/instance.js';
import { exerciseNames, loadExercise, type Exercise } from '../../workshop/exercise.js';
import { applyBreaks, judge, readExerciseState, writeExerciseState, type ExerciseState } from '../../workshop/exercise-run.js';
import type { Plan } from '../../plan/types.js';
import { upCopy } from './lifecycle.js';

interface Opts { instance?: string; json?: boolean }

const load = (name: string) => loadExercise(name, loadPlan);

export async function list(o: { json?: boolean }): Promise<number> {
  const rows: { name: string; lab: string; title: string; problems?: string }[] = [];
  for (const name of await exerciseNames()) {
    try {
      const { exercise } = await load(name);
      rows.push({ name, lab: exercise.lab, title: exercise.title });
    } catch (e) {
      rows.push({ name, lab: '?', title: '', problems: e instanceof LabError ? e.message : String(e) });
    }
  }
  if (o.json) printJson(rows);
  else if (!rows.length) console.log('no exercises in labs/exercises/');
  else {
    console.log(table(['EXERCISE', 'LAB', 'TITLE'], rows.map((r) => [r.name, r.lab, r.problems ? c.red('invalid (see below)') : r.title])));
    for (const r of rows.filter((x) => x.problems)) process.stderr.write(`${r.problems}\n`);
    if (rows.length) console.log(c.dim('\nstart one: lab exercise start NAME [--instance STUDENT]'));
  }
  return rows.some((r) => r.problems) ? ExitCode.badInput : 0;
}

/** Rebuild the copy from a clean lab and apply the exercise's breaks. */
async function fresh(ex: Exercise, plan: Plan, instance: string | undefined): Promise<void> {
  const shown = displayRef({ lab: plan.name, instance });
  const running = await findRunning(plan.name, instance);
  const progress = stderrProgress();
  if (running) {
    if (running.provider !== 'emulator') throw new LabError(`exercises run on the emulator; ${shown} runs on ${running.provider}`, ExitCode.badInput);
    const end = progress.phase(`clean ${shown}`);
    await bindInstance(await getProvider('emulator'), instance).down(plan.name);
    await forgetRunning(plan.name, instance);
    end('brought down to start from the lab as shipped');
  }
  const end = progress.phase(`lab up ${shown}`);
  const provider = await upCopy(plan, instance, { phase: () => () => undefined, info: (m) => progress.info(m) });
  end();
  const endBreak = progress.phase(`prepare exercise ${ex.name}`);
  await applyBreaks(ex, plan, provider, instance);
  endBreak();
}

export async function start(name: string, o: Opts): Promise<number> {
  const instance = checkInstance(o.instance);
  const { exercise: ex, plan } = await load(name);
  await fresh(ex, plan, instance);
  const prev = await readExerciseState(plan.name, instance);
  await writeExerciseState({ exercise: ex.name, lab: plan.name, ...(instance ? { instance } : {}), startedAt: new Date().toISOString(), hintsShown: prev?.exercise === ex.name ? prev.hintsShown : 0 });
  const shown = displayRef({ lab: plan.name, instance });
  console.log(`${c.bold(ex.title)}\n\n${ex.text.trim()}\n`);
  console.log(c.dim(`your lab: ${shown}   look around: lab verify ${shown}, lab exec ${shown} DEVICE -- CMD`));
  console.log(c.dim(`check your work: lab exercise check ${ex.name}${instance ? ` --instance ${instance}` : ''}   stuck: lab exercise hint ${ex.name}${instance ? ` --instance ${instance}` : ''}`));
  return 0;
}

/** The student's state for this exercise, or exit 3 saying how to start it. */
async function current(ex: Exercise, plan: Plan, instance: string | undefined): Promise<ExerciseState> {
  const st = await readExerciseState(plan.name, instance);
  const cmd = `lab exercise start ${ex.name}${instance ? ` --instance ${instance}` : ''}`;
  if (!st || st.exercise !== ex.name) throw notRunning(`exercise ${ex.name} is not started on ${displayRef({ lab: plan.name, instance })}${st ? ` (it runs ${st.exercise})` : ''}: ${cmd}`);
  if (!(await findRunning(plan.name, instance))) throw notRunning(`${displayRef({ lab: plan.name, instance })} is not running any more: ${cmd}`);
  return st;
}

function nextHint(ex: Exercise, st: ExerciseState): { text: string; n: number } {
  const n = Math.min(st.hintsShown + 1, ex.hints.length);
  st.hintsShown = n;
  return { text: ex.hints[n - 1], n };
}

export async function check(name: string, o: Opts): Promise<number> {
  const instance = checkInstance(o.instance);
  const { exercise: ex, plan } = await load(name);
  const st = await current(ex, plan, instance);
  const provider = bindInstance(await getProvider('emulator'), instance);
  const j = await judge(ex, plan, provider);
  const hint = j.solved ? null : nextHint(ex, st);
  st.last = { at: new Date().toISOString(), solved: j.solved, goals: j.goals.map(({ goal, ok }) => ({ goal, ok })) };
  await writeExerciseState(st);
  if (o.json) {
    printJson({ exercise: ex.name, ...(instance ? { instance } : {}), solved: j.solved, goals: j.goals.map(({ goal, ok }) => ({ goal, ok })), hint: hint ? hint.text : null });
  } else {
    for (const g of j.goals) console.log(`${g.ok ? c.green('✔') : c.red('✘')} ${g.goal}${g.observed ? c.dim(`  (${g.observed})`) : ''}`);
    console.log(j.solved ? c.green(`\nsolved: ${ex.title}`) : `\n${c.red('not solved yet')}\n${c.yellow(`hint ${hint!.n} of ${ex.hints.length}:`)} ${hint!.text}`);
  }
  return j.solved ? 0 : ExitCode.verifyFailed;
}

export async function hint(name: string, o: Opts): Promise<number> {
  const instance = checkInstance(o.instance);
  const { exercise: ex, plan } = await load(name);
  const st = await current(ex, plan, instance);
  const h = nextHint(ex, st);
  await writeExerciseState(st);
  if (o.json) printJson({ exercise: ex.name, hint: h.text, n: h.n, of: ex.hints.length });
  else console.log(`${c.yellow(`hint ${h.n} of ${ex.hints.length}:`)} ${h.text}`);
  return 0;
}

export async function reset(name: string, o: Opts): Promise<number> {
  const instance = checkInstance(o.instance);
  const { exercise: ex, plan } = await load(name);
  const st = await current(ex, plan, instance).catch(() => undefined);
  await fresh(ex, plan, instance);
  await writeExerciseState({ exercise: ex.name, lab: plan.name, ...(instance ? { instance } : {}), startedAt: new Date().toISOString(), hintsShown: st?.hintsShown ?? 0 });
  console.log(`${ex.name} is back at its start on ${displayRef({ lab: plan.name, instance })}`);
  return 0;
}

