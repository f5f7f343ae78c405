// A student's exercise progress is state like any other (state/json-file.ts): written
// atomically, so racing writers leave one whole file and no temporary; a damaged file
// reads as none kept.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = mkdtempSync(path.join(tmpdir(), 'ex-state-'));
process.env.FABRIC_LAB_STATE = root;
const run = await import('../../src/workshop/exercise-run.js');

test('racing writes: one whole state survives, no temporary file; damaged reads as none; the grid lists whole ones', async (t) => {
  const states = Array.from({ length: 20 }, (_, i) => ({ exercise: `ex${i}`, lab: 'ws-a', startedAt: new Date(0).toISOString(), hintsShown: i }));
  await Promise.all(states.map((s) => run.writeExerciseState(s)));
  const got = await run.readExerciseState('ws-a');
  t.truthy(got);
  t.deepEqual(got, states[got!.hintsShown]);
  await run.writeExerciseState({ exercise: 'other', lab: 'ws-b', instance: 's01', startedAt: new Date(0).toISOString(), hintsShown: 0 });
  t.false((await readdir(path.join(root, 'exercises'))).some((n) => n.endsWith('.tmp')), 'no temporary left');
  t.deepEqual((await run.allExerciseStates()).map((s) => s.lab).sort(), ['ws-a', 'ws-b']);
  await writeFile(path.join(root, 'exercises', 'ws-a.json'), '{"exercise": "half');
  t.is(await run.readExerciseState('ws-a'), undefined);
  await writeFile(path.join(root, 'exercises', 'ws-a.json'), '{"lab": "ws-a"}\n');
  t.is(await run.readExerciseState('ws-a'), undefined, 'the wrong shape too');
  t.deepEqual((await run.allExerciseStates()).map((s) => s.lab), ['ws-b'], 'the grid lists the whole one');
});
