// End to end as a user runs it, as root: up, already-up, pods, exec, status, verify,
// down, and Ctrl-C during up. Labs are copied under their own names so these tests
// never meet another test file's namespaces.
import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, labProcess, root } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.serial.skip;
if (!isRoot) console.warn('cli-up: not root, end-to-end tests skipped');

async function copyLab(from: string, name: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'fl-cli-lab-'));
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(file, (await readFile(path.join(root, 'labs', `${from}.yaml`), 'utf8')).replace(/^name: .*$/m, `name: ${name}`));
  return file;
}

const leftovers = async (name: string) => {
  const ns = (await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(`fl_${name}_`));
  const procs = (await execa('ps', ['-e', '-o', 'stat=,args='])).stdout.split('\n').filter((l) => !l.trim().startsWith('Z') && l.includes(`fl_${name}_`));
  return [...ns, ...procs];
};

rootTest('up, up again (3), pods, exec, status, verify --json, down twice: nothing left', async (t) => {
  const env = { FABRIC_LAB_STATE: await mkdtemp(path.join(tmpdir(), 'fl-cli-state-')) };
  const file = await copyLab('bridge-static', 'cli-bridge');
  const up = await lab(['up', file], env);
  t.is(up.code, 0, up.stdout + up.stderr);
  t.regex(up.stdout, /checks passed/);
  t.regex(up.stderr, /is up/);
  // The emulator reads only the switch configs; the rest is `lab render`'s.
  t.regex(up.stderr, /`lab render` writes every artifact/);
  const written = await readdir(path.join(env.FABRIC_LAB_STATE, 'artifacts', 'cli-bridge')).catch(() => []);
  t.deepEqual(written.filter((f) => f !== 'fabric-configs'), [], 'no Vagrantfile, provisioning, Calico or kubeadm files');
  try {
    t.is((await lab(['up', file], env)).code, 3, 'a running lab cannot be brought up again');
    const pods = JSON.parse((await lab(['pods', 'cli-bridge', '--json'], env)).stdout);
    t.is(pods.length, 4);
    t.true(pods.every((p: { status: string }) => p.status === 'Running'));
    const route = await lab(['exec', 'cli-bridge', 'k8s-master', '--', 'ip', '-4', 'route'], env);
    t.is(route.code, 0, route.stderr);
    t.regex(route.stdout, /10\.244\.1\.0\/24 via 10\.138\.0\.3/);
    t.is((await lab(['exec', 'cli-bridge', 'k8s-master', '--', 'false'], env)).code, 1, 'exec passes the command exit code through');
    t.is((await lab(['exec', 'cli-bridge', 'nosuchdevice', '--', 'true'], env)).code, 2);
    const st = JSON.parse((await lab(['status', 'cli-bridge', '--json'], env)).stdout);
    t.true(st.running);
    const v = JSON.parse((await lab(['verify', 'cli-bridge', '--json'], env)).stdout);
    t.true(v.ok);
    t.deepEqual(Object.keys(v).sort(), ['checks', 'lab', 'ok', 'sample', 'summary']);
    t.true(v.checks.some((c: { kind: string }) => c.kind === 'ping'));
    // Break a node's static route: verify must fail (exit 1) and name it.
    await lab(['exec', 'cli-bridge', 'k8s-master', '--', 'ip', 'route', 'del', '10.244.1.0/24'], env);
    const bad = await lab(['verify', 'cli-bridge'], env);
    t.is(bad.code, 1);
    t.regex(bad.stdout, /k8s-master/);
    t.regex(bad.stdout, /10\.244\.1\.0\/24/);
  } finally {
    const down = await lab(['down', file], env);
    t.is(down.code, 0, down.stderr);
  }
  t.deepEqual(await leftovers('cli-bridge'), []);
  t.is((await lab(['down', file], env)).code, 0, 'down is idempotent');
  t.is((await lab(['verify', file], env)).code, 3);
  // By name, once down, cli-bridge is neither running nor in labs/: a typo as far as lab knows.
  t.is((await lab(['verify', 'cli-bridge'], env)).code, 2);
});

rootTest('Ctrl-C during up removes everything, at several points', async (t) => {
  const env = { FABRIC_LAB_STATE: await mkdtemp(path.join(tmpdir(), 'fl-cli-state-')) };
  const file = await copyLab('calico-vxlan', 'cli-intr');
  // Interrupt when each phase begins to print (or finishes), then check nothing is left.
  for (const after of [/render/, /links|namespaces/, /daemons|FRR/, /convergence|dataplane/]) {
    const p = labProcess(['up', file, '--no-verify'], env);
    p.all!.on('data', (chunk: Buffer) => { if (after.test(chunk.toString())) p.kill('SIGINT'); });
    const r = await p;
    t.true(r.exitCode === 130 || r.exitCode === 0, `${after}: exit ${r.exitCode}\n${r.all}`);
    if (r.exitCode === 0) await lab(['down', file], env); // finished before the signal landed
    t.deepEqual(await leftovers('cli-intr'), [], `after Ctrl-C at ${after}`);
    t.is((await lab(['status', file], env)).code, 3);
  }
});
