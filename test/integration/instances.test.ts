// Instances (DESIGN 8.4) as a user runs them: two copies of one lab side by side with the
// same addresses, both green; down of one leaves the other intact; a class with
// --instances; down --all leaves nothing. Private state root and ws- lab names.
import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, root } from '../cli/helpers.js';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.serial.skip;

async function copyLab(from: string, name: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ws-inst-'));
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, (await readFile(path.join(root, 'labs', `${from}.yaml`), 'utf8')).replace(/^name: .*$/m, `name: ${name}`));
  return file;
}

const namespaces = async (prefix: string) =>
  (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(prefix));
const processes = async (needle: string) =>
  (await execa('ps', ['-e', '-o', 'stat=,args='])).stdout.split('\n').filter((l) => !l.trim().startsWith('Z') && l.includes(needle));

rootTest('two instances side by side with the same addresses: both green, down of one leaves the other', async (t) => {
  const env = { FABRIC_LAB_STATE: await mkdtemp(path.join(tmpdir(), 'ws-inst-state-')) };
  const file = await copyLab('calico-vxlan', 'ws-inst');
  try {
    for (const i of ['a', 'b']) {
      const up = await lab(['up', file, '--instance', i], env);
      t.is(up.code, 0, up.stdout + up.stderr);
    }
    t.is((await lab(['up', file, '--instance', 'a'], env)).code, 3, 'a running instance cannot come up again');
    // Same addresses in both: the same pod IPs, reachable in each copy on its own.
    const podsA = JSON.parse((await lab(['pods', 'ws-inst', '--instance', 'a', '--json'], env)).stdout);
    const podsB = JSON.parse((await lab(['pods', 'ws-inst', '--instance', 'b', '--json'], env)).stdout);
    t.deepEqual(podsA.map((p: { ip: string }) => p.ip), podsB.map((p: { ip: string }) => p.ip));
    for (const i of ['a', 'b']) {
      const v = await lab(['verify', 'ws-inst', '--instance', i, '--json'], env);
      t.is(v.code, 0, v.stdout);
      const report = JSON.parse(v.stdout);
      t.is(report.instance, i);
      t.true(report.ok);
    }
    const st = JSON.parse((await lab(['status', '--json'], env)).stdout);
    t.deepEqual(st.map((r: { instance: string }) => r.instance), ['a', 'b']);
    t.true(st.every((r: { healthy: boolean }) => r.healthy));
    // The default copy is not running: commands say which instances are.
    const none = await lab(['verify', 'ws-inst'], env);
    t.is(none.code, 3);
    t.regex(none.stderr, /--instance \(a, b\)/);

    t.is((await lab(['down', 'ws-inst', '--instance', 'a'], env)).code, 0);
    t.deepEqual(await namespaces('fl_ws-inst_a_'), []);
    t.deepEqual(await processes('fl_ws-inst_a_'), []);
    t.true((await namespaces('fl_ws-inst_b_')).length > 10);
    const still = await lab(['verify', 'ws-inst', '--instance', 'b', '--json'], env);
    t.is(still.code, 0, 'the other instance is intact');
    t.is((await lab(['status', 'ws-inst', '--instance', 'a'], env)).code, 3);
  } finally {
    await lab(['down', '--all'], env);
  }
  t.deepEqual(await namespaces('fl_ws-inst_'), []);
  t.deepEqual(await processes('fl_ws-inst_'), []);
});

rootTest('a class: --instances 3 in parallel, one line each, status lists them, down LAB --all removes them', async (t) => {
  const env = { FABRIC_LAB_STATE: await mkdtemp(path.join(tmpdir(), 'ws-inst-state-')) };
  const file = await copyLab('bridge-static', 'ws-class');
  const other = await copyLab('bridge-static', 'ws-other');
  try {
    t.is((await lab(['up', other], env)).code, 0);
    const up = await lab(['up', file, '--instances', '3'], env);
    t.is(up.code, 0, up.stderr);
    for (const s of ['s01', 's02', 's03']) t.regex(up.stderr, new RegExp(`✔ ${s} .*checks passed`));
    t.regex(up.stderr, /3 of 3 instances of ws-class up and verified/);
    const st = await lab(['status', 'ws-class', '--json'], env);
    t.is(st.code, 0);
    t.deepEqual(JSON.parse(st.stdout).map((r: { instance: string }) => r.instance), ['s01', 's02', 's03']);
    t.is((await lab(['down', 'ws-class', '--all'], env)).code, 0);
    t.deepEqual(await namespaces('fl_ws-class_'), []);
    t.is((await lab(['verify', 'ws-other'], env)).code, 0, 'another lab is untouched by down LAB --all');
  } finally {
    t.is((await lab(['down', '--all'], env)).code, 0);
  }
  t.deepEqual([...await namespaces('fl_ws-class_'), ...await namespaces('fl_ws-other_')], []);
});

test('bad instance names exit 2 and change nothing', async (t) => {
  for (const args of [['up', 'calico-vxlan', '--instance', 'Bad_Name'], ['verify', 'calico-vxlan', '--instance', '-x'], ['down', 'calico-vxlan', '--instance', 'a'.repeat(21)],
    ['up', 'calico-vxlan', '--instances', 'a,b,a'], ['up', 'calico-vxlan', '--instances', '0'], ['down']]) {
    const r = await lab(args);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.notRegex(r.stderr, /\n\s+at /);
  }
});
