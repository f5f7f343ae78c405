// `lab export` as a user runs it: what it writes, what it refuses (exit 2, nothing
// written, no stack trace) and that it never overwrites without --force.
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, noStack } from './helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'export-cli-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

test('export writes the topology and its config folder, then refuses to overwrite them without --force', async (t) => {
  const file = path.join(tmp, 'a', 'vx.clab.yml');
  const r = await lab(['export', 'calico-vxlan', '--format', 'containerlab', '-o', file]);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /wrote .*vx\.clab\.yml \(9 containers, 9 links, 4 pods as network namespaces\) and \d+ files in .*vx-clab\//);
  t.regex(r.stdout, /containerlab deploy -t .*vx\.clab\.yml/);
  t.false(readFileSync(file, 'utf8').includes('calico-vxlan-clab'), 'binds name the folder beside this file');
  t.true(readFileSync(file, 'utf8').includes('vx-clab/leaf1/frr.conf:/etc/frr/frr.conf'));
  t.true(existsSync(path.join(tmp, 'a', 'vx-clab', 'leaf1', 'frr.conf')));
  writeFileSync(file, 'edited by hand\n');
  const again = await lab(['export', 'calico-vxlan', '--format', 'containerlab', '-o', file]);
  t.is(again.code, 2);
  t.regex(again.stderr, /exists: not overwriting it \(add --force/);
  t.is(readFileSync(file, 'utf8'), 'edited by hand\n', 'untouched');
  const forced = await lab(['export', 'calico-bgp', '--format', 'containerlab', '-o', file, '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.true(readFileSync(file, 'utf8').startsWith('# calico-bgp: '));
  t.true(existsSync(path.join(tmp, 'a', 'vx-clab', 'k8s-node-l1-1', 'bird.conf')), 'the folder follows the new lab');
});

test('a config folder the tool did not write is never touched, even with --force', async (t) => {
  const dir = path.join(tmp, 'b');
  mkdirSync(path.join(dir, 'mine-clab'), { recursive: true });
  writeFileSync(path.join(dir, 'mine-clab', 'notes.txt'), 'my notes\n');
  for (const extra of [[], ['--force']]) {
    const r = await lab(['export', 'calico-vxlan', '--format', 'containerlab', '-o', path.join(dir, 'mine.clab.yml'), ...extra]);
    t.is(r.code, 2, extra.join(' '));
    t.regex(r.stderr, /mine-clab\/ (exists|is not empty)/);
    t.true(noStack(r.stderr));
  }
  t.is(readFileSync(path.join(dir, 'mine-clab', 'notes.txt'), 'utf8'), 'my notes\n');
  t.false(existsSync(path.join(dir, 'mine.clab.yml')), 'nothing written');
});

test('bad input: unknown format lists the allowed ones, --format is required, a lab typo gets a did-you-mean, -o - is refused', async (t) => {
  const fmt = await lab(['export', 'calico-vxlan', '--format', 'clab']);
  t.is(fmt.code, 2);
  t.regex(fmt.stderr, /Allowed choices are containerlab/);
  const none = await lab(['export', 'calico-vxlan']);
  t.is(none.code, 2);
  t.regex(none.stderr, /required option '--format <format>'/);
  const typo = await lab(['export', 'calico-vxlam', '--format', 'containerlab', '-o', path.join(tmp, 'never.clab.yml')]);
  t.is(typo.code, 2);
  t.regex(typo.stderr, /did you mean calico-vxlan\?/);
  const dash = await lab(['export', 'calico-vxlan', '--format', 'containerlab', '-o', '-']);
  t.is(dash.code, 2);
  t.regex(dash.stderr, /needs a file name/);
  for (const r of [fmt, none, typo, dash]) t.true(noStack(r.stderr));
  t.false(existsSync(path.join(tmp, 'never.clab.yml')));
});
