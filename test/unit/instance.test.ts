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

test('bindInstance maps the lab name of every provider method that takes one', async (t) => {
  const { bindInstance } = await import('../../src/workshop/instance.js');
  const { emulator } = await import('../../src/providers/emulator/index.js');
  const seen: string[] = [];
  const rec = (name: string) => async (lab: string) => { seen.push(`${name}:${lab}`); return undefined as never; };
  const fake = { ...emulator, up: async (plan: { name: string }) => { seen.push(`up:${plan.name}`); }, down: rec('down'), status: async (lab: string) => (seen.push(`status:${lab}`), { lab, provider: 'emulator' as const, running: false, devices: [] }), exec: rec('exec'), shell: rec('shell'), execBatch: rec('execBatch'), capture: rec('capture'), daemon: rec('daemon'), enforcePolicies: rec('enforcePolicies') };
  const b = bindInstance(fake as never, 's1');
  await b.up({ name: 'x' } as never, '', { phase: () => () => undefined, info: () => undefined });
  await b.down('x'); await b.status('x'); await b.exec('x', 'd', ['true']); await b.execBatch('x', 'd', [['true']]); await b.shell('x', 'd', { vtysh: false }); await b.capture('x', 'd', 'eth0', []); await b.daemon!('x', 'd', 'bgpd', 'stop'); await b.enforcePolicies!('x', {} as never, []);
  t.deepEqual(seen, ['up:x_s1', 'down:x_s1', 'status:x_s1', 'exec:x_s1', 'execBatch:x_s1', 'shell:x_s1', 'capture:x_s1', 'daemon:x_s1', 'enforcePolicies:x_s1']);
  // Methods taking a lab name: the interface's, minus those that do not (kept in sync by this list).
  const lab = Object.keys(emulator).filter((k) => typeof (emulator as unknown as Record<string, unknown>)[k] === 'function' && k !== 'requiredTools');
  t.deepEqual(lab.sort(), ['capture', 'daemon', 'down', 'enforcePolicies', 'exec', 'execBatch', 'shell', 'status', 'up'].filter((m) => lab.includes(m)).sort(), `a provider method bindInstance does not map: ${lab.join(', ')}`);
});
