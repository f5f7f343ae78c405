// The CLI contract (DESIGN 5): commands, output, exit codes, no stack traces.
import test from 'ava';
import { mkdtemp, readFile, readdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readdirSync } from 'node:fs';
import { lab, noStack, root } from './helpers.js';

const tmp = () => mkdtemp(path.join(tmpdir(), 'fl-cli-'));

test('--version prints the package version', async (t) => {
  const r = await lab(['--version']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^\d+\.\d+\.\d+$/);
});

test('list shows the shipped labs with underlay, CNI and sizes', async (t) => {
  const r = await lab(['list']);
  t.is(r.code, 0, r.stderr);
  for (const name of ['calico-vxlan', 'calico-bgp', 'calico-ipip', 'bridge-static', 'kthw-static', 'dc-256', 'dc-256-vxlan', 'dc-1024']) t.regex(r.stdout, new RegExp(`^${name}\\s`, 'm'));
  t.regex(r.stdout, /^calico-vxlan\s+fabric\s+vxlan\s+2\s+2\s+5\s+4\s/m);
  const json = JSON.parse((await lab(['list', '--json'])).stdout);
  t.is(json.length, readdirSync(path.join(root, 'labs')).filter((f) => f.endsWith('.yaml')).length, 'every lab file in labs/');
  t.regex(r.stdout, /^dc-1024\s+fabric\s+bgp\s+4\s+64\s+1024\s+128\s/m);
});

test('show prints the plan readably and as JSON', async (t) => {
  const r = await lab(['show', 'calico-vxlan']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /spine-sw1 swp1\s+172\.16\.0\.0\/31\s+leaf1 swp1\s+172\.16\.0\.1\/31/);
  t.regex(r.stdout, /EXPECTED BGP SESSIONS \(4; verify checks both ends: 8\)/);
  t.regex(r.stdout, /reply TTL 62/);
  const j = JSON.parse((await lab(['show', 'calico-vxlan', '--json'])).stdout);
  t.is(j.name, 'calico-vxlan');
  t.is(j.nodes[3].addr.ip, '10.0.102.101');
  t.is(j.intent.encapsulation.vni, 4096);
  t.is(j.intent.pings.length, 12, 'every pair on different nodes');
});

test('show: the pings it lists are the pairs verify probes (dc-256: its sample of 8,192, not another list)', async (t) => {
  const { samplePairs } = await import('../../src/verify/sample.js');
  const { loadLab } = await import('../../src/lab/load.js');
  const { plan } = await import('../../src/plan/index.js');
  const sample = samplePairs(plan(await loadLab('dc-256')));
  const text = await lab(['show', 'dc-256']);
  t.regex(text.stdout, new RegExp(`\\n${sample.pairs} pod-to-pod pings sampled of ${sample.of} pairs`));
  const j = JSON.parse((await lab(['show', 'dc-256', '--json'])).stdout);
  t.deepEqual(j.intent.pings, [...sample.bySource.values()].flat());
  t.is(j.intent.pings.length, 8192);
});

test('render writes every artifact, byte-identical on re-run', async (t) => {
  const a = await tmp();
  const b = await tmp();
  try {
    t.is((await lab(['render', 'calico-bgp', '--out', a])).code, 0);
    t.is((await lab(['render', 'calico-bgp', '--out', b])).code, 0);
    const list = async (d: string): Promise<string[]> => (await readdir(d, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.relative(d, path.join(e.parentPath, e.name))).sort();
    const files = await list(a);
    t.deepEqual(files, await list(b));
    for (const f of ['Vagrantfile', 'fabric-configs/leaf1/frr.conf', 'fabric-configs/leaf1/daemons', 'fabric-configs/leaf1/interfaces', 'calico/ippool.yaml', 'calico/bgppeers.yaml', 'kubernetes/kubeadm-config.yaml']) t.true(files.includes(f), f);
    t.true(files.some((f) => f.startsWith('provision/') && f.endsWith('.sh')));
    for (const f of files) t.is(await readFile(path.join(a, f), 'utf8'), await readFile(path.join(b, f), 'utf8'), f);
  } finally {
    await rm(a, { recursive: true, force: true });
    await rm(b, { recursive: true, force: true });
  }
});

test('a bad lab file: every problem positioned, exit 2, no stack trace', async (t) => {
  const d = await tmp();
  const file = path.join(d, 'broken.yaml');
  await writeFile(file, 'name: broken\nlan: { subnet: 10.0.0.0/24, gateway: 10.0.1.1, adress: 1 }\nkubernetes:\n  version: 1.30\n');
  const r = await lab(['show', file]);
  t.is(r.code, 2);
  t.regex(r.stderr, /broken\.yaml:2:\d+\s+lan\.adress\s+unknown key "adress"/);
  t.regex(r.stderr, /broken\.yaml:4:\d+\s+kubernetes\.version\s+.*quote/);
  t.regex(r.stderr, /lan\.gateway/);
  t.true(noStack(r.stderr), r.stderr);
  await rm(d, { recursive: true, force: true });
});

test('unknown lab, unknown command, missing argument: exit 2 with a hint', async (t) => {
  const r = await lab(['show', 'calico-vxlam']);
  t.is(r.code, 2);
  t.regex(r.stderr, /calico-vxlan/);
  t.true(noStack(r.stderr));
  t.is((await lab(['frobnicate'])).code, 2);
  t.is((await lab(['show'])).code, 2);
  t.is((await lab(['up', 'calico-vxlan', '--provider', 'docker'])).code, 2);
});

test('commands on a lab that is not running exit 3', async (t) => {
  const env = { FABRIC_LAB_STATE: await tmp() };
  for (const args of [['verify', 'calico-vxlan'], ['pods', 'calico-vxlan'], ['exec', 'calico-vxlan', 'leaf1', '--', 'true'], ['status', 'calico-vxlan']]) {
    const r = await lab(args, env);
    t.is(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
    t.regex(r.stderr, /not running/);
  }
  t.is((await lab(['status'], env)).stdout, 'no lab is running');
});
