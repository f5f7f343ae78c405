// Usage mistakes a new user makes: typos of lab names, exec without --, and --help that
// describes every argument. No lab runs: an empty state directory.
import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, noStack } from './helpers.js';

const emptyState = async () => ({ FABRIC_LAB_STATE: await mkdtemp(path.join(tmpdir(), 'cl-state-')) });

test('a lab name that is neither a lab file nor running: exit 2, did you mean', async (t) => {
  const env = await emptyState();
  for (const args of [['down', 'calico-vxlen'], ['down', 'calico-vxlen', '--all'], ['verify', 'calico-vxlen'], ['pods', 'calico-vxlen'], ['status', 'calico-vxlen'],
    ['exec', 'calico-vxlen', 'leaf1', '--', 'true'], ['capture', 'calico-vxlen', 'leaf1', 'swp1'], ['shell', 'calico-vxlen', 'leaf1']]) {
    const r = await lab(args, env);
    t.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /no lab "calico-vxlen": it is neither in labs\/ nor running\. did you mean calico-vxlan\?/, args.join(' '));
    t.true(noStack(r.stderr));
  }
  const path = await lab(['down', 'labs/nope.yaml'], env);
  t.is(path.code, 2);
  t.regex(path.stderr, /no lab file labs\/nope\.yaml/);
});

test('down of a real lab that is not running still succeeds (idempotent)', async (t) => {
  const r = await lab(['down', 'calico-vxlan'], await emptyState());
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /was not running/);
});

test('exec without --: says to put the command after -- and points at lab exec --help', async (t) => {
  const r = await lab(['exec', 'calico-vxlan', 'leaf1', 'vtysh', '-c', 'show bgp summary'], await emptyState());
  t.is(r.code, 2);
  t.regex(r.stderr, /put the command after `--`.*: lab exec calico-vxlan leaf1 -- vtysh -c 'show bgp summary'\n\(see `lab exec --help`\)/);
  t.notRegex(r.stderr, /unknown option/);
});

test('a usage error points at the help of its own command', async (t) => {
  const r = await lab(['verify', 'calico-vxlan', '--jsn']);
  t.is(r.code, 2);
  t.regex(r.stderr, /unknown option '--jsn'[\s\S]*lab verify --help/);
});

test('--help describes every argument of every command', async (t) => {
  const top = await lab(['--help']);
  const commands = [...top.stdout.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
  t.true(commands.length >= 10, top.stdout);
  for (const cmd of commands) {
    const help = (await lab([cmd, '--help'])).stdout;
    const section = /\nArguments:\n([\s\S]*?)(\n\n|$)/.exec(help)?.[1] ?? '';
    for (const line of section.split('\n').filter((l) => /^ {2}\S/.test(l))) {
      t.regex(line, /^ {2}\S+ {2,}\S/, `lab ${cmd} --help: "${line.trim()}" has no description`);
    }
  }
  t.regex((await lab(['exec', '--help'])).stdout, /Examples:[\s\S]*-- vtysh -c 'show bgp summary'/);
});
