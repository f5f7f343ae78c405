import test from 'ava';
import { loadPlan } from '../../src/cli/load.js';
import { exerciseNames, loadExercise, parseExercise } from '../../src/workshop/exercise.js';
import { breakSteps, fixSteps } from '../../src/workshop/breaks.js';
import { LabFileError } from '../../src/errors.js';

test('every shipped exercise validates, has hints and a break with a fix', async (t) => {
  const names = await exerciseNames();
  t.true(names.length >= 6);
  for (const n of names) {
    const { exercise, plan } = await loadExercise(n, loadPlan);
    t.true(exercise.hints.length >= 2, n);
    for (const b of exercise.breaks) {
      t.true(breakSteps(plan, 'k', b).length > 0);
      t.notDeepEqual(breakSteps(plan, 'k', b), fixSteps(plan, 'k', b));
    }
  }
});

test('bad exercise files: every problem positioned, at once', async (t) => {
  const src = [
    'title: x',
    'lab: calico-vxlan',
    'text: t',
    'colour: red',
    'break:',
    '  - link-down: { a: leaf1, b: leaf2 }',
    '  - vxlan-vni: { node: nope, vni: 5 }',
    '  - explode: {}',
    '  - route-missing: { node: k8s-node-l1-1, prefix: 10.0.0.0/8 }',
    'goal:',
    '  - verify: pings',
    '  - ping: { from: nobody, to: 10.0.0.1 }',
    'hints: []',
  ].join('\n');
  const e = await t.throwsAsync(parseExercise(src, '/tmp/x.yaml', loadPlan), { instanceOf: LabFileError });
  const msg = e!.message;
  t.regex(msg, /x\.yaml:4:1 {2}colour {2}unknown key "colour"/);
  t.regex(msg, /:6:\d+ {2}break\[0\]\.link-down\.b {2}no cable between leaf1 and leaf2/);
  t.regex(msg, /:7:\d+ {2}break\[1\]\.vxlan-vni\.node {2}no node "nope"/);
  t.regex(msg, /:8:\d+ {2}break\[2\]\.explode {2}unknown break "explode"/);
  t.regex(msg, /break\[3\]\.route-missing\.node {2}lab calico-vxlan is vxlan/);
  t.regex(msg, /:11:\d+ {2}goal\[0\]\.verify {2}verify takes a check kind/);
  t.regex(msg, /goal\[1\]\.ping\.from {2}no device/);
  t.regex(msg, /hints {2}hints must be a list with at least one entry/);
});
