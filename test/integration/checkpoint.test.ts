// Checkpoints: save a copy with a config fault and a link down, clear them, restore:
// both are back (verify fails the same way, lab fault list shows them); down leaves nothing.
import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, root } from '../cli/helpers.js';

const rootTest = process.getuid?.() === 0 ? test.serial : test.serial.skip;

rootTest('checkpoint save, clear, restore: switch config and link fault come back', async (t) => {
  const env = { FABRIC_LAB_STATE: await mkdtemp(path.join(tmpdir(), 'ws-cp-state-')) };
  const dir = await mkdtemp(path.join(tmpdir(), 'ws-cp-'));
  const file = path.join(dir, 'ws-cp.yaml');
  await writeFile(file, (await readFile(path.join(root, 'labs/calico-vxlan.yaml'), 'utf8')).replace(/^name: .*$/m, 'name: ws-cp'));
  const i = ['--instance', 'k'];
  try {
    t.is((await lab(['up', file, ...i], env)).code, 0);
    t.is((await lab(['fault', 'ws-cp', ...i, 'peer-asn', 'leaf1', 'spine-sw1'], env)).code, 0);
    t.is((await lab(['fault', 'ws-cp', ...i, 'link', 'leaf2', 'spine-sw2', 'down'], env)).code, 0);
    const save = await lab(['checkpoint', 'ws-cp', ...i, 'save', 'stage1'], env);
    t.is(save.code, 0, save.stderr);
    t.is((await lab(['checkpoint', 'ws-cp', ...i, 'save', 'Bad Name'], env)).code, 2);
    t.is((await lab(['fault', 'ws-cp', ...i, 'clear'], env)).code, 0);
    // BGP takes a few seconds to re-establish after the clear: green within 30 s.
    let green = await lab(['verify', 'ws-cp', ...i], env);
    for (const deadline = Date.now() + 30_000; green.code !== 0 && Date.now() < deadline;) green = await lab(['verify', 'ws-cp', ...i], env);
    t.is(green.code, 0, green.stdout);
    const list = JSON.parse((await lab(['checkpoint', 'ws-cp', ...i, 'list', '--json'], env)).stdout);
    t.deepEqual(list.map((x: { name: string; faults: number }) => [x.name, x.faults]), [['stage1', 2]]);
    const restore = await lab(['checkpoint', 'ws-cp', ...i, 'restore', 'stage1'], env);
    t.is(restore.code, 0, restore.stdout + restore.stderr);
    t.notRegex(restore.stdout, /not restored/);
    const faults = JSON.parse((await lab(['fault', 'ws-cp', ...i, 'list', '--json'], env)).stdout);
    t.deepEqual(faults.map((f: { kind: string }) => f.kind).sort(), ['config', 'link']);
    const v = JSON.parse((await lab(['verify', 'ws-cp', ...i, '--json'], env)).stdout);
    const failed = v.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { subject: string }) => c.subject);
    t.true(failed.some((s: string) => s.startsWith('leaf1 -> spine-sw1')), failed.join('\n'));
    t.true(failed.some((s: string) => s.startsWith('leaf2 -> spine-sw2')), failed.join('\n'));
    t.is((await lab(['checkpoint', 'ws-cp', ...i, 'restore', 'nope'], env)).code, 3);
  } finally {
    await lab(['down', '--all'], env);
  }
  t.notRegex((await execa('ip', ['netns', 'list'])).stdout, /ws-cp/);
});
