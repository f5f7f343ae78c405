// Running exercises on a copy of their lab: apply the breaks, judge the goals on the live
// lab, and keep each student's progress (hints seen, last check) in the state root.
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { stateRoot } from '../paths.js';
import { readJson, writeJsonAtomic } from '../state/json-file.js';
import type { Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import { breakSteps, fixSteps, type Step } from './breaks.js';
import { goalText, resolveFrom, type Exercise } from './exercise.js';
import { parseRunKey, runKey } from './instance.js';
import { LabError, ExitCode } from '../errors.js';

export interface ExerciseState {
  exercise: string;
  lab: string;
  instance?: string;
  startedAt: string;
  /** How many hints the student has been shown (in order). */
  hintsShown: number;
  last?: { at: string; solved: boolean; goals: { goal: string; ok: boolean }[] };
}

const dir = () => path.join(stateRoot, 'exercises');
const file = (key: string) => path.join(dir(), `${key}.json`);

const stateShape = (v: unknown): string | undefined => {
  const o = v as Partial<ExerciseState> | null;
  if (!o || typeof o !== 'object') return 'not an object';
  if (typeof o.exercise !== 'string' || typeof o.lab !== 'string') return 'no exercise or lab name';
  return typeof o.hintsShown === 'number' ? undefined : 'no hint count';
};

/** A student's progress, or undefined when none is kept (or the file is damaged: it is then started afresh). */
export async function readExerciseState(lab: string, instance?: string): Promise<ExerciseState | undefined> {
  const r = await readJson<ExerciseState>(file(runKey(lab, instance)), stateShape);
  return r.kind === 'ok' ? r.value : undefined;
}

/** Written like every state file (state/json-file.ts): atomically, so two writers never leave half of one. */
export async function writeExerciseState(s: ExerciseState): Promise<void> {
  await writeJsonAtomic(file(runKey(s.lab, s.instance)), s);
}

export async function forgetExerciseState(lab: string, instance?: string): Promise<void> {
  await rm(file(runKey(lab, instance)), { force: true });
}

/** Every student's exercise progress (for the instructor's grid). */
export async function allExerciseStates(): Promise<ExerciseState[]> {
  const names = (await readdir(dir()).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
  const all = await Promise.all(names.map((n) => { const k = parseRunKey(n.slice(0, -5)); return readExerciseState(k.lab, k.instance); }));
  return all.filter((s): s is ExerciseState => !!s);
}

async function runSteps(provider: Provider, lab: string, steps: Step[], what: string): Promise<void> {
  for (const s of steps) {
    const r = await provider.exec(lab, s.device, s.argv, { input: s.input, timeoutMs: 10_000 });
    if (r.exitCode !== 0) throw new LabError(`${what}: \`${s.argv.join(' ')}\` on ${s.device} failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}`, ExitCode.hostLacks);
  }
}

/** Apply every break of the exercise to the running copy (`provider` bound to its instance). */
export async function applyBreaks(ex: Exercise, plan: Plan, provider: Provider, instance?: string): Promise<void> {
  const key = runKey(plan.name, instance);
  await runSteps(provider, plan.name, ex.breaks.flatMap((b) => breakSteps(plan, key, b)), `exercise ${ex.name}`);
}

/** The intended fix (what the exercise's tests apply; a student types the same by hand). */
export async function applyFix(ex: Exercise, plan: Plan, provider: Provider, instance?: string): Promise<void> {
  const key = runKey(plan.name, instance);
  await runSteps(provider, plan.name, ex.breaks.flatMap((b) => fixSteps(plan, key, b)), `fix of ${ex.name}`);
}

export interface Judgement { solved: boolean; goals: { goal: string; ok: boolean; observed?: string }[] }

/** Judge every goal on the live copy: verify kinds from one verify run, pings by real ICMP. */
export async function judge(ex: Exercise, plan: Plan, provider: Provider): Promise<Judgement> {
  const needsVerify = ex.goals.some((g) => 'verify' in g);
  const { verify } = await import('../verify/index.js');
  const report = needsVerify ? await verify(plan, provider) : undefined;
  const goals = await Promise.all(ex.goals.map(async (g) => {
    if ('verify' in g) {
      const checks = report!.checks.filter((c) => c.kind === g.verify);
      const bad = checks.filter((c) => !c.ok);
      const ok = checks.length > 0 && bad.length === 0;
      return { goal: goalText(g), ok, observed: checks.length ? `${checks.length - bad.length} of ${checks.length} pass` : 'no such checks in this lab' };
    }
    const from = resolveFrom(plan, g.ping.from)!;
    // Two tries: one lost first packet (ARP) must not fail a solved exercise.
    let reply = false;
    for (let i = 0; i < 2 && !reply; i++) {
      const r = await provider.exec(plan.name, from, ['ping', '-n', '-c', '1', '-W', '1', g.ping.to], { timeoutMs: 5000 });
      reply = r.exitCode === 0;
    }
    return { goal: goalText(g), ok: reply === (g.ping.expect === 'reply'), observed: reply ? 'reply' : 'no reply' };
  }));
  return { solved: goals.every((g) => g.ok), goals };
}
