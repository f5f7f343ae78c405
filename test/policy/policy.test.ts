// NetworkPolicy and Services on a real emulator lab, through the CLI as a user runs it:
// the upstream e2e layout (netpol lab, as po-np), one policy feature at a time, each
// truth table checked cell by cell against a table written here by hand (not by the
// engine), observed by real TCP connections; delete restores reachability; Services
// answer from several endpoints. Root only.
import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, root } from '../cli/helpers.js';

const isRoot = process.getuid?.() === 0;
const rootTest = isRoot ? test.serial : test.serial.skip;

interface Matrix { pods: string[]; expected: string[][]; observed: string[][]; correct: number; wrong: number; why: Record<string, string> }

let env: Record<string, string>;
let file: string;
let dir: string;

test.before(async () => {
  if (!isRoot) return;
  dir = await mkdtemp(path.join(tmpdir(), 'po-policy-'));
  env = { FABRIC_LAB_STATE: path.join(dir, 'state') };
  file = path.join(dir, 'po-np.yaml');
  await writeFile(file, (await readFile(path.join(root, 'labs', 'netpol.yaml'), 'utf8')).replace(/^name: .*$/m, 'name: po-np'));
  const up = await lab(['up', file, '--no-verify'], env);
  if (up.code !== 0) throw new Error(up.stdout + up.stderr);
});

test.after.always(async () => {
  if (!isRoot) return;
  await lab(['down', file], env);
  const left = (await execa('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.includes('po-np'));
  if (left.length) throw new Error(`left behind: ${left.join(', ')}`);
});

async function apply(name: string, yaml: string): Promise<void> {
  const f = path.join(dir, `${name}.yaml`);
  await writeFile(f, yaml);
  const r = await lab(['policy', 'po-np', 'apply', f], env);
  if (r.code !== 0) throw new Error(r.stderr);
}

async function matrix(port = 80): Promise<Matrix> {
  const r = await lab(['policy', 'po-np', 'matrix', '--port', String(port), '--json'], env);
  return JSON.parse(r.stdout) as Matrix;
}

/** "x/xa-..." -> "x/a" */
const short = (p: string) => `${p.split('/')[0]}/${p.split('/')[1][1]}`;

/** Every cell: the hand-written expectation, the engine's and the observed one agree. */
function table(t: import('ava').ExecutionContext, m: Matrix, allowed: (from: string, to: string) => boolean) {
  const bad: string[] = [];
  m.pods.forEach((a, i) => m.pods.forEach((b, j) => {
    if (i === j) return;
    const want = allowed(short(a), short(b)) ? '.' : 'X';
    if (m.expected[i][j] !== want || m.observed[i][j] !== want) bad.push(`${short(a)} -> ${short(b)}: want ${want}, engine ${m.expected[i][j]}, observed ${m.observed[i][j]}`);
  }));
  t.deepEqual(bad, []);
  t.is(m.wrong, 0);
  t.is(m.correct, 72);
}

const np = (ns: string, name: string, spec: string) => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name}, namespace: ${ns} }\nspec:\n${spec.replace(/^/gm, '  ')}\n`;

rootTest('no policy: everything reaches everything', async (t) => {
  table(t, await matrix(), () => true);
});

rootTest('default deny ingress in x, then allow from namespace y on a named port; delete restores', async (t) => {
  await apply('deny', np('x', 'deny-ingress', 'podSelector: {}\npolicyTypes: [Ingress]'));
  const m = await matrix();
  table(t, m, (_a, b) => !b.startsWith('x/'));
  t.regex(m.why[`${m.pods[3]} ${m.pods[0]}`], /ingress of x\/xa-\S+ is isolated by x\/deny-ingress/);
  await apply('allow-y', np('x', 'allow-from-y', 'podSelector: { matchLabels: { pod: a } }\ningress: [{ from: [{ namespaceSelector: { matchLabels: { ns: y } } }], ports: [{ port: serve-80-tcp }] }]'));
  table(t, await matrix(80), (a, b) => !b.startsWith('x/') || (b === 'x/a' && a.startsWith('y/')));
  table(t, await matrix(81), (_a, b) => !b.startsWith('x/'));
  for (const name of ['deny-ingress', 'allow-from-y']) t.is((await lab(['policy', 'po-np', 'delete', name, '-n', 'x'], env)).code, 0);
  table(t, await matrix(), () => true);
});

rootTest('egress deny in z; ipBlock with except into y/a', async (t) => {
  await apply('egress', np('z', 'deny-egress', 'podSelector: {}\npolicyTypes: [Egress]'));
  const pods = JSON.parse((await lab(['pods', 'po-np', '--json'], env)).stdout) as { name: string; namespace: string; ip: string }[];
  const xb = pods.find((p) => p.namespace === 'x' && p.name.startsWith('xb-'))!;
  await apply('ipblock', np('y', 'from-pods-but-xb', `podSelector: { matchLabels: { pod: a } }\ningress: [{ from: [{ ipBlock: { cidr: 10.64.0.0/12, except: [${xb.ip}/32] } }] }]`));
  table(t, await matrix(), (a, b) => !a.startsWith('z/') && !(b === 'y/a' && a === 'x/b'));
  const list = JSON.parse((await lab(['policy', 'po-np', 'list', '--json'], env)).stdout) as { metadata: { name: string } }[];
  t.deepEqual(list.map((p) => p.metadata.name), ['deny-egress', 'from-pods-but-xb']);
  t.is((await lab(['policy', 'po-np', 'delete', 'deny-egress', '-n', 'z'], env)).code, 0);
  t.is((await lab(['policy', 'po-np', 'delete', 'from-pods-but-xb', '-n', 'y'], env)).code, 0);
  t.is((await lab(['policy', 'po-np', 'delete', 'from-pods-but-xb', '-n', 'y'], env)).code, 2, 'already gone');
});

rootTest('a bad policy file: exit 2, positioned, nothing changed', async (t) => {
  const f = path.join(dir, 'bad.yaml');
  await writeFile(f, np('x', 'bad', 'podSelector: {}\ningress: [{ ports: [{ port: 70000 }] }]') + '---\napiVersion: v1\nkind: NetworkPolicy\nmetadata: { name: b }\nspec: { podSelectr: {} }\n');
  const r = await lab(['policy', 'po-np', 'apply', f], env);
  t.is(r.code, 2);
  t.regex(r.stderr, /bad\.yaml:6:\d+ +spec\.ingress\[0\]\.ports\[0\]\.port +port 70000 is out of range/);
  t.regex(r.stderr, /bad\.yaml:8:\d+ +apiVersion/);
  t.regex(r.stderr, /bad\.yaml:11:\d+ +spec\.podSelectr +unknown field/);
  t.deepEqual(JSON.parse((await lab(['policy', 'po-np', 'list', '--json'], env)).stdout), []);
});

rootTest('Services: verify sees every ClusterIP answered by endpoints on more than one node', async (t) => {
  const r = await lab(['verify', 'po-np', '--json'], env);
  const checks = (JSON.parse(r.stdout) as { checks: { kind: string; subject: string; ok: boolean; observed: string }[] }).checks;
  const services = checks.filter((c) => c.kind === 'service');
  t.is(services.length, 9);
  t.deepEqual(services.filter((c) => !c.ok), []);
  t.deepEqual(checks.filter((c) => !c.ok).map((c) => `${c.kind} ${c.subject}: ${c.observed}`), [], 'every other check of verify too');
  const svc = JSON.parse((await lab(['services', 'po-np', '--json'], env)).stdout) as { clusterIP: string }[];
  t.is(svc[0].clusterIP, '10.80.0.100');
});
