// Every shipped exercise as a student meets it: start (a clean copy, broken), check says
// not solved with the first hint, the intended fix applied by hand (the same commands a
// student types, through lab exec's provider path), check says solved. Private state root,
// instance ws-ex so the shipped lab names never collide with anyone's lab.
import './emulator-env.js';
import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, root } from '../cli/helpers.js';
import { loadPlan } from '../../src/cli/load.js';
import { loadExercise } from '../../src/workshop/exercise.js';
import { applyFix } from '../../src/workshop/exercise-run.js';
import { bindInstance } from '../../src/workshop/instance.js';
import { emulator } from '../../src/providers/emulator/index.js';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.serial.skip;
const env = { FABRIC_LAB_STATE: process.env.FABRIC_LAB_STATE! };
const instance = 'ws-ex';

async function solve(t: import('ava').ExecutionContext, ref: string) {
  const start = await lab(['exercise', 'start', ref, '--instance', instance], env);
  t.is(start.code, 0, start.stdout + start.stderr);
  try {
    const { exercise, plan } = await loadExercise(ref, loadPlan);
    t.true(start.stdout.includes(exercise.title));
    // What was broken is not printed: no break kind or field value in what the student sees.
    const shown = start.stdout.replaceAll(exercise.name, "");
    for (const b of exercise.breaks) t.false(shown.includes(b.kind), `start must not reveal ${b.kind}`);
    const before = await lab(['exercise', 'check', ref, '--instance', instance, '--json'], env);
    t.is(before.code, 1, before.stdout + before.stderr);
    const j = JSON.parse(before.stdout);
    t.false(j.solved);
    t.is(j.hint, exercise.hints[0]);
    t.true(j.goals.some((g: { ok: boolean }) => !g.ok));
    t.deepEqual(Object.keys(j).filter((k) => k !== 'instance'), ['exercise', 'solved', 'goals', 'hint']);
    await applyFix(exercise, plan, bindInstance(emulator, instance), instance);
    // Sessions take a few seconds to come back after a fix: check until solved, bounded.
    let after = await lab(['exercise', 'check', ref, '--instance', instance, '--json'], env);
    for (let i = 0; i < 20 && after.code === 1; i++) after = await lab(['exercise', 'check', ref, '--instance', instance, '--json'], env);
    t.is(after.code, 0, after.stdout + after.stderr);
    t.deepEqual(JSON.parse(after.stdout).hint, null);
    return { exercise, plan };
  } finally {
    const down = await lab(['down', '--all'], env);
    t.is(down.code, 0, down.stderr);
  }
}

for (const name of ['bgp-missing-peer', 'vxlan-wrong-vni', 'leaf-spine-link-down', 'static-route-missing', 'masquerade-off']) {
  rootTest(`exercise ${name}: start, not solved with a hint, intended fix, solved`, async (t) => { await solve(t, name); });
}

rootTest('exercise default-deny (its seed-002 lab needs the ipip module): the same exercise on calico-vxlan', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'ws-ex-'));
  const file = path.join(dir, 'default-deny.yaml');
  const src = await readFile(path.join(root, 'labs/exercises/default-deny.yaml'), 'utf8');
  await writeFile(file, src.replace(/^lab: .*$/m, 'lab: calico-vxlan').replace('namespace: default', 'namespace: space1'));
  await solve(t, file);
});

rootTest('hint, reset and a second check: reset breaks the lab again', async (t) => {
  const ref = 'static-route-missing';
  t.is((await lab(['exercise', 'start', ref, '--instance', instance], env)).code, 0);
  try {
    const h1 = await lab(['exercise', 'hint', ref, '--instance', instance], env);
    t.regex(h1.stdout, /hint 1 of 3/);
    const h2 = await lab(['exercise', 'hint', ref, '--instance', instance], env);
    t.regex(h2.stdout, /hint 2 of 3/);
    const fix = await lab(['exec', 'bridge-static', '--instance', instance, 'k8s-master', '--', 'ip', 'route', 'add', '10.244.1.0/24', 'via', '10.138.0.3'], env);
    t.is(fix.code, 0, fix.stderr);
    t.is((await lab(['exercise', 'check', ref, '--instance', instance], env)).code, 0);
    t.is((await lab(['exercise', 'reset', ref, '--instance', instance], env)).code, 0);
    const again = await lab(['exercise', 'check', ref, '--instance', instance], env);
    t.is(again.code, 1);
    t.regex(again.stdout, /hint 3 of 3/);
    t.is((await lab(['exercise', 'check', 'masquerade-off', '--instance', instance], env)).code, 3, 'another exercise is not started here');
  } finally {
    await lab(['down', '--all'], env);
  }
  const ns = (await execa('ip', ['netns', 'list'])).stdout;
  t.notRegex(ns, /_ws-ex_/);
});
