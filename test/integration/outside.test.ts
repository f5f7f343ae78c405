// The way out on real labs, through the CLI as a user runs it (root): the outside host
// sees the node's address with natOutgoing and the pod's own without (a generated
// natOutgoing: false variant), verify's snat check follows and fails when masquerade is
// taken away on one node; in BGP mode the outside host reaches a Service's cluster IP;
// a bad policy file exits 2 with every problem positioned and changes nothing; `down`
// leaves nothing behind (the leaks inventory).
import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { lab, root } from '../cli/helpers.js';
import { baseline, leaks, type Baseline } from './inventory.js';
import { namespaceOf } from '../../src/providers/emulator/names.js';

const isRoot = process.getuid?.() === 0;
const serial = isRoot ? test.serial : test.serial.skip;

interface Check { kind: string; subject: string; ok: boolean; status: string; expected: string; observed: string }
interface Pod { name: string; namespace: string; ip: string; node: string }

let dir = '';
let env: Record<string, string> = {};
let base: Baseline;

test.before(async () => {
  if (!isRoot) return;
  dir = await mkdtemp(path.join(tmpdir(), 'pz-outside-'));
  env = { FABRIC_LAB_STATE: path.join(dir, 'state') };
  base = await baseline();
});

// A failed test must not leave its lab to the next one (nor to the leaks inventory).
test.afterEach.always(async () => {
  if (!isRoot) return;
  for (const l of ['pz-obgp', 'pz-ovx']) await lab(['down', l], env);
});

test.after.always(async () => {
  if (!isRoot) return;
  await rm(dir, { recursive: true, force: true });
});

/** A shipped lab under a test name, with an outside host and an edit. */
async function variant(from: string, name: string, outside: string, edit: (y: string) => string = (y) => y): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  const yaml = edit((await readFile(path.join(root, 'labs', `${from}.yaml`), 'utf8')).replace(/^name: .*$/m, `name: ${name}`));
  await writeFile(file, `${yaml}\noutside: ${outside}\n`);
  return file;
}

const inNs = (lab: string, device: string, argv: string[]) => execa('ip', ['netns', 'exec', namespaceOf(lab, device), ...argv], { reject: false, timeout: 15_000 });
async function pods(file: string): Promise<Pod[]> { return JSON.parse((await lab(['pods', file, '--json'], env)).stdout) as Pod[]; }
async function nodeIps(file: string): Promise<Map<string, string>> {
  const p = JSON.parse((await lab(['show', file, '--json'], env)).stdout) as { nodes: { name: string; addr: { ip: string } }[] };
  return new Map(p.nodes.map((n) => [n.name, n.addr.ip]));
}
async function verifyChecks(file: string): Promise<{ code: number; checks: Check[] }> {
  const r = await lab(['verify', file, '--json'], env);
  return { code: r.code, checks: (JSON.parse(r.stdout) as { checks: Check[] }).checks };
}
/** Every node's whole netfilter state (without packet counters), to prove that a refused apply changed nothing. */
async function rules(file: string, name: string): Promise<string> {
  const nodes = [...(await nodeIps(file)).keys()];
  const out = await Promise.all(nodes.map(async (n) => (await lab(['exec', name, n, '--', 'iptables-save'], env)).stdout.replace(/^#.*$/gm, '').replace(/\[\d+:\d+\]/g, '')));
  return out.join('\n');
}

serial('BGP, natOutgoing on: the outside host sees node addresses, reaches a Service; verify agrees, and fails when a node stops masquerading', async (t) => {
  const file = await variant('calico-bgp', 'pz-obgp', '{ name: inet, subnet: 198.51.100.0/29, via: leaf1, port: 8080 }');
  const up = await lab(['up', file, '--no-verify'], env);
  t.is(up.code, 0, up.stderr);
  const ips = await nodeIps(file);
  const all = await pods(file);
  // Observed with a plain curl from each pod, not through verify.
  for (const p of all) {
    const r = await lab(['exec', 'pz-obgp', p.name, '--', 'curl', '-s', '-m', '3', 'http://198.51.100.2:8080/'], env);
    t.is(r.stdout.trim(), `inet ${ips.get(p.node)}`, `${p.name} on ${p.node}`);
  }
  const fromOutside = await lab(['exec', 'pz-obgp', 'inet', '--', 'curl', '-s', '-m', '3', 'http://10.80.0.100/'], env);
  t.true(all.some((p) => fromOutside.stdout.startsWith(`${p.name} `)), fromOutside.stdout + fromOutside.stderr);
  // The border leaf advertises the outside subnet: the other leaf learns it over both spines.
  t.regex((await lab(['exec', 'pz-obgp', 'leaf2', '--', 'ip', 'route', 'show', '198.51.100.0/29'], env)).stdout, /nexthop via 172\.16\.0\.2 .*\n.*nexthop via 172\.16\.0\.6/);

  let v = await verifyChecks(file);
  t.is(v.code, 0, v.checks.filter((c) => !c.ok).map((c) => `${c.kind} ${c.subject}: ${c.observed}`).join('\n'));
  const snat = v.checks.filter((c) => c.kind === 'snat');
  t.is(snat.length, 4, 'one per node with pods');
  t.true(snat.every((c) => /^SYN from 10\.0\.10[12]\.\d+ \(node [\w-]+\); answered "inet 10\.0\.10[12]\.\d+"$/.test(c.observed)), snat.map((c) => c.observed).join('\n'));
  t.deepEqual(v.checks.filter((c) => c.kind === 'outside-service').map((c) => `${c.subject} ${c.status}`), ['inet -> space1/nginx cluster IP 10.80.0.100:80 pass']);
  t.is(v.checks.filter((c) => c.kind === 'route' && c.subject.endsWith(' 198.51.100.0/29') && c.ok).length, 4);

  // A bad policy file: exit 2, every problem positioned, nothing changed on any node.
  const before = await rules(file, 'pz-obgp');
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(bad, [
    'apiVersion: networking.k8s.io/v1', 'kind: NetworkPolicy', 'metadata: { name: a, namespace: space1 }', 'spec:',
    '  podSelector: { matchExpressions: [{ key: app, operator: Equals, values: [nginx] }] }',
    '  ingress: [{ ports: [{ port: 70000 }] }]',
    '---', 'apiVersion: v1', 'kind: NetworkPolicy', 'metadata: { name: b, namespace: space1 }', 'spec: { podSelectr: {} }', '',
  ].join('\n'));
  const r = await lab(['policy', 'pz-obgp', 'apply', bad], env);
  t.is(r.code, 2);
  t.notRegex(r.stderr, /\n\s+at /, 'no stack trace');
  t.regex(r.stderr, /bad\.yaml:5:\d+ +spec\.podSelector\.matchExpressions\[0\]\.operator +"Equals" is not a valid selector operator/);
  t.regex(r.stderr, /bad\.yaml:6:\d+ +spec\.ingress\[0\]\.ports\[0\]\.port +port 70000 is out of range/);
  t.regex(r.stderr, /bad\.yaml:8:\d+ +apiVersion/);
  t.regex(r.stderr, /bad\.yaml:11:\d+ +spec\.podSelectr +unknown field/);
  t.deepEqual(JSON.parse((await lab(['policy', 'pz-obgp', 'list', '--json'], env)).stdout), []);
  t.is(await rules(file, 'pz-obgp'), before, 'iptables of every node unchanged');

  // One node stops masquerading: its pod's request now arrives from the pod address.
  const victim = all[0];
  t.is((await inNs('pz-obgp', victim.node, ['iptables', '-t', 'nat', '-F', 'cali-nat-outgoing'])).exitCode, 0);
  v = await verifyChecks(file);
  t.is(v.code, 1);
  const broken = v.checks.filter((c) => c.kind === 'snat' && !c.ok);
  t.deepEqual(broken.map((c) => c.subject), [`${victim.name} -> inet 198.51.100.2:8080`]);
  t.regex(broken[0].observed, new RegExp(`^SYN from ${victim.ip.replace(/\./g, '\\.')} \\(the pod\\)`));
  t.is((await lab(['down', file], env)).code, 0);
  t.deepEqual(await leaks('pz-obgp', env.FABRIC_LAB_STATE, base), []);
});

serial('VXLAN, natOutgoing false: the pod address arrives, no answer can come back, and verify says that is right', async (t) => {
  const file = await variant('calico-vxlan', 'pz-ovx', '{}', (y) => y.replace('natOutgoing: true', 'natOutgoing: false'));
  const up = await lab(['up', file], env);
  t.is(up.code, 0, up.stdout + up.stderr);
  const p = (await pods(file))[0];
  // Raw capture on the outside host while the pod tries: the SYN carries the pod's address.
  const cap = execa('ip', ['netns', 'exec', namespaceOf('pz-ovx', 'outside'), 'tcpdump', '-n', '-l', '-c', '1', '-i', 'eth0', 'tcp dst port 80'], { reject: false, timeout: 15_000 });
  await new Promise<void>((resolve) => { cap.stderr?.on('data', (b: Buffer) => { if (b.toString().includes('listening')) resolve(); }); });
  const curl = await lab(['exec', 'pz-ovx', p.name, '--', 'curl', '-s', '-m', '2', 'http://203.0.113.2/'], env);
  t.not(curl.code, 0, 'no answer: nothing routes the pod network back from the outside host');
  t.regex((await cap).stdout, new RegExp(`IP ${p.ip.replace(/\./g, '\\.')}\\.\\d+ > 203\\.0\\.113\\.2\\.80: Flags \\[S\\]`));
  const v = await verifyChecks(file);
  t.is(v.code, 0, v.checks.filter((c) => !c.ok).map((c) => `${c.kind} ${c.subject}: ${c.observed}`).join('\n'));
  const snat = v.checks.filter((c) => c.kind === 'snat');
  t.is(snat.length, 4);
  t.true(snat.every((c) => c.expected.endsWith("(the pod's own: no masquerade)") && c.observed.includes('(the pod); no answer')), snat.map((c) => c.observed).join('\n'));
  t.deepEqual(v.checks.filter((c) => c.kind === 'outside-service'), [], 'no service route in VXLAN mode');
  t.is((await lab(['down', file], env)).code, 0);
  t.deepEqual(await leaks('pz-ovx', env.FABRIC_LAB_STATE, base), []);
});
