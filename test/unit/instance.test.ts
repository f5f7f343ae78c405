import test from 'ava';
import { checkInstance, classNames, parseRunKey, runKey } from '../../src/workshop/instance.js';
import { LabError } from '../../src/errors.js';

test('run keys are injective and round-trip', (t) => {
  t.is(runKey('calico-vxlan'), 'calico-vxlan');
  t.is(runKey('calico-vxlan', 's01'), 'calico-vxlan_s01');
  t.deepEqual(parseRunKey('calico-vxlan_s01'), { lab: 'calico-vxlan', instance: 's01' });
  t.deepEqual(parseRunKey('calico-vxlan'), { lab: 'calico-vxlan' });
  // "a-b" instance "c" vs "a" instance "b-c" vs lab "a-b-c": three different keys.
  t.is(new Set([runKey('a-b', 'c'), runKey('a', 'b-c'), runKey('a-b-c')]).size, 3);
});

test('instance names follow the lab-name rule', (t) => {
  t.is(checkInstance('s01'), 's01');
  t.is(checkInstance(undefined), undefined);
  for (const bad of ['', 'S1', 'a_b', '-a', 'a-', 'a'.repeat(21), 'a/b', 'a b']) {
    const e = t.throws(() => checkInstance(bad), { instanceOf: LabError });
    t.is(e?.exitCode, 2);
  }
});

test('--instances: a count gives s01..sNN, a list is taken as given', (t) => {
  t.deepEqual(classNames('3'), ['s01', 's02', 's03']);
  t.is(classNames('120')[0], 's001');
  t.deepEqual(classNames('alice, bob'), ['alice', 'bob']);
  for (const bad of ['0', '201', 'a,a', 'Alice', ',']) t.throws(() => classNames(bad), { instanceOf: LabError });
});
