// Every device carries its own name, and `lab shell` gets a student in: the CLI on a real
// emulator lab (calico-bgp under a test name: FRR switches, BIRD nodes, pods), driven
// through a pseudo-terminal (script) as a user's terminal would.
import './emulator-env.js';
import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, mainJs, noStack } from '../cli/helpers.js';
import { isRoot, leftovers, processesMentioning, recordedPids, stateRoot, waitUntilGone } from './emulator-helpers.js';

const serial = isRoot ? test.serial : test.serial.skip;
const NAME = 'cl-shell';
let file = '';
let dir = '';

test.before(async () => {
  if (!isRoot) return;
  dir = await mkdtemp(path.join(tmpdir(), 'cl-shell-'));
  file = path.join(dir, `${NAME}.yaml`);
  await writeFile(file, (await readFile('labs/calico-bgp.yaml', 'utf8')).replace(/^name: .*$/m, `name: ${NAME}`));
  const r = await lab(['up', file, '--no-verify']);
  if (r.code !== 0) throw new Error(`up failed: ${r.stderr}`);
});

test.after.always(async () => {
  if (!isRoot) return;
  await lab(['down', NAME]);
  await rm(dir, { recursive: true, force: true });
  await rm(stateRoot, { recursive: true, force: true });
});

/** The CLI on a pseudo-terminal, `input` typed into it; what the terminal showed. */
async function onTerminal(args: string[], input: string) {
  const cmd = ['node', mainJs, ...args].map((a) => `'${a}'`).join(' ');
  const r = await execa('script', ['-qec', cmd, '/dev/null'], { input, reject: false, timeout: 30_000, env: { NO_COLOR: '1' } });
  return { code: r.exitCode, out: r.stdout.replace(/\x1b\[[?0-9;]*[a-zA-Z]/g, '').replace(/\r/g, '') };
}

serial('hostname on switches, nodes and pods is the device name (exec)', async (t) => {
  const pods = JSON.parse((await lab(['pods', NAME, '--json'])).stdout) as { name: string }[];
  for (const device of ['leaf1', 'spine-sw2', 'k8s-node-l2-1', pods[0].name]) {
    const r = await lab(['exec', NAME, device, '--', 'hostname']);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout.trim(), device);
  }
  const conf = await lab(['exec', NAME, 'leaf2', '--', 'vtysh', '-c', 'show running-config']);
  t.regex(conf.stdout, /^hostname leaf2$/m);
});

serial('lab shell: the prompt and hostname name the device; exit code passes through', async (t) => {
  const r = await onTerminal(['shell', NAME, 'k8s-node-l1-2'], 'hostname\nexit 7\n');
  t.is(r.code, 7, r.out);
  t.regex(r.out, /\(cl-shell\) root@k8s-node-l1-2:[^\n]*# hostname\nk8s-node-l1-2\n/);
  const viaExec = await onTerminal(['exec', NAME, 'spine-sw1'], 'hostname\nexit\n');
  t.is(viaExec.code, 0, viaExec.out);
  t.regex(viaExec.out, /root@spine-sw1:[^\n]*# hostname\nspine-sw1\n/);
});

serial('lab shell --vtysh: vtysh on the switch, prompt leaf1#', async (t) => {
  const r = await onTerminal(['shell', NAME, 'leaf1', '--vtysh'], 'show running-config\nexit\n');
  t.is(r.code, 0, r.out);
  t.regex(r.out, /^leaf1# show running-config$/m);
  t.regex(r.out, /^hostname leaf1$/m);
  t.notRegex(r.out, /\bvm#/);
});

serial('vtysh on a node and birdc on a switch: what runs there, exit 2', async (t) => {
  const node = await lab(['shell', NAME, 'k8s-node-l1-1', '--vtysh']);
  t.is(node.code, 2);
  t.regex(node.stderr, /BIRD .*birdc show protocols/);
  const sw = await lab(['exec', NAME, 'leaf1', '--', 'birdc', 'show', 'protocols']);
  t.is(sw.code, 2);
  t.regex(sw.stderr, /runs FRR .*vtysh/);
  const typo = await lab(['exec', NAME, 'Leaf1', '--', 'hostname']);
  t.is(typo.code, 2);
  t.regex(typo.stderr, /did you mean leaf1\?\n {2}switches: /);
  t.true(noStack(typo.stderr));
});

serial('status with a dead daemon exits 1 and says how to bring it back', async (t) => {
  const state = JSON.parse(await readFile(path.join(stateRoot, 'emulator', NAME, 'state.json'), 'utf8'));
  const bird = state.processes.find((p: { device: string; daemon: string }) => p.device === 'k8s-node-l2-2' && p.daemon === 'bird');
  process.kill(bird.pid, 'SIGKILL');
  await waitUntilGone(bird.pid);
  for (const args of [['status', NAME], ['status']]) {
    const r = await lab(args);
    t.is(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, /k8s-node-l2-2 is down \(bird not running\)\. To bring it back: lab fault cl-shell daemon k8s-node-l2-2 bird start \(or rebuild: lab down cl-shell && lab up cl-shell\)/);
  }
});

serial('down removes the UTS namespaces with everything else', async (t) => {
  const pids = [...await recordedPids(NAME, stateRoot), ...await processesMentioning(NAME)];
  const mounts = async () => (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(`/emulator/${NAME}/`));
  t.true((await mounts()).length > 0, 'each device has its UTS namespace mounted');
  t.is((await lab(['down', NAME])).code, 0);
  t.deepEqual(await mounts(), []);
  t.deepEqual(await leftovers(NAME, stateRoot, pids), []);
});
