// `lab export --format containerlab` (issue 9, beyond one host): for EVERY shipped lab the
// topology validates against containerlab's own JSON schema (ajv, draft-07), every plan
// device and link appears, each node's interfaces are eth1..N used once, and the configs
// name only those; FRR's grammar accepts the rewritten frr.conf (vtysh --dryrun) and
// shellcheck the setup scripts. A golden export of calico-vxlan was reviewed by eye.
// Each checker is shown to reject a broken export, so a pass means something.
import test from 'ava';
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import { execa } from 'execa';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import { labsDir, repoRoot } from '../../src/paths.js';
import { exportContainerlab, interfaceMap, renameWords, type ContainerlabExport } from '../../src/export/containerlab.js';
import { nodeIptables } from '../../src/policy/node-rules.js';
import { checkGolden } from '../helpers/golden.js';

const SCHEMA = '/work/shared/containerlab-schema/clab.schema.json';
const SHIPPED = readdirSync(labsDir).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
/** Shipped labs with an outside host (lab file `outside:`): on a leaf, and on the LAN switch. */
const VARIANTS: Record<string, { from: string; outside: string }> = {
  'ox-vxlan': { from: 'calico-vxlan', outside: '{}' },
  'ox-bridge': { from: 'bridge-static', outside: '{ port: 8000 }' },
};
const LABS = [...SHIPPED, ...Object.keys(VARIANTS)];
const BIG = (name: string) => name.startsWith('dc-');

interface ClabNode { kind: string; image: string; group?: string; binds: string[]; exec: string[] }
interface Clab { name: string; topology: { nodes: Record<string, ClabNode>; links: { endpoints: string[] }[] } }

const options = (name: string) => ({ topologyFile: `${name}.clab.yml`, configDir: `${name}-clab`, switchImage: 'quay.io/frrouting/frr:8.4.2', hostImage: 'nicolaka/netshoot:latest' });
const cache = new Map<string, Promise<{ plan: Plan; out: ContainerlabExport; clab: Clab }>>();
function exported(name: string) {
  if (!cache.has(name)) {
    cache.set(name, labRef(name).then(loadLab).then((lab) => {
      const p = plan(lab);
      const out = exportContainerlab(p, options(name));
      return { plan: p, out, clab: parse(out.topology) as Clab };
    }));
  }
  return cache.get(name)!;
}
const file = (out: ContainerlabExport, p: string) => {
  const f = out.files.find((x) => x.path === p);
  if (!f) throw new Error(`not exported: ${p}`);
  return f.content;
};

async function labRef(name: string): Promise<string> {
  const v = VARIANTS[name];
  if (!v) return name;
  const file = path.join(tmp, `${name}.yaml`);
  writeFileSync(file, `${readFileSync(path.join(labsDir, `${v.from}.yaml`), 'utf8').replace(/^name: .*$/m, `name: ${name}`)}\noutside: ${v.outside}\n`);
  return file;
}

let validator: ValidateFunction | undefined;
function validate(doc: unknown): string[] {
  if (!validator) {
    // The schema is draft-07 (ajv's default) and uses no `format`; it carries editor
    // keywords (markdownDescription) and one 2020-12 keyword (prefixItems, on short links),
    // which draft-07 ignores: strict off, and the endpoint pattern is checked below.
    const ajv = new Ajv({ strict: false, allErrors: true });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA, 'utf8')) as object);
  }
  if (validator(doc)) return [];
  return (validator.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

const tmp = mkdtempSync(path.join(tmpdir(), 'export-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
let tmpCount = 0;
const writeTmp = (content: string, name: string) => {
  const f = path.join(tmp, `${tmpCount++}-${name}`);
  writeFileSync(f, content);
  return f;
};

// ---- every shipped lab ---------------------------------------------------------------

test('the schema check can fail: a wrong kind, a bad endpoint and an unknown key are rejected', async (t) => {
  const { clab } = await exported('calico-vxlan');
  const broken = structuredClone(clab) as unknown as { topology: { nodes: Record<string, Record<string, unknown>>; links: unknown[] } };
  broken.topology.nodes.leaf1.kind = 'frr'; // not a kind of containerlab v0.79
  broken.topology.nodes.leaf2.binds = 'x';
  (broken.topology as Record<string, unknown>).linkz = [];
  const errors = validate(broken);
  t.true(errors.some((e) => e.includes('/topology/nodes/leaf1/kind')), errors.join('\n'));
  t.true(errors.some((e) => e.includes('/topology/nodes/leaf2/binds')), errors.join('\n'));
  t.true(errors.some((e) => e.includes('additional properties')), errors.join('\n'));
});

for (const name of LABS) {
  test(`${name}: the export validates against containerlab's schema; every device and link is in it, interfaces eth1..N once each`, async (t) => {
    const { plan: p, out, clab } = await exported(name);
    t.deepEqual(validate(clab), []);
    t.is(clab.name, p.name);
    // Devices: every switch and node a container; every pod a network namespace of its node.
    t.deepEqual(Object.keys(clab.topology.nodes).sort(), [...p.switches.map((s) => s.name), ...p.nodes.map((n) => n.name), ...(p.outside ? [p.outside.name] : [])].sort());
    for (const pod of p.pods) t.true(file(out, `${pod.node}/setup.sh`).split('\n').includes(`netns add ${pod.name}`), pod.name);
    // Links: every cable of the plan once, with containerlab names; pod cables are veths in the node's script.
    const ifmap = interfaceMap(p);
    const cables = p.links.filter((l) => l.kind !== 'pod').map((l) => [l.a, l.b]);
    if (p.outside) cables.push([{ device: p.outside.attachedTo, iface: p.outside.switchPort.name }, { device: p.outside.name, iface: 'eth0' }]);
    const want = cables.map(([a, b]) => [`${a.device}:${ifmap.get(a.device)!.get(a.iface)}`, `${b.device}:${ifmap.get(b.device)!.get(b.iface)}`].join(' '));
    t.deepEqual(clab.topology.links.map((l) => l.endpoints.join(' ')).sort(), want.sort());
    for (const pod of p.pods) t.true(file(out, `${pod.node}/setup.sh`).includes(`link add name ${pod.hostIface} `), `${pod.name} cabled`);
    const used = new Map<string, string[]>();
    for (const l of clab.topology.links) {
      t.is(l.endpoints.length, 2);
      for (const e of l.endpoints) {
        t.regex(e, /^\S+:\S+$/); // the schema's prefixItems, which draft-07 does not apply
        const [node, iface] = e.split(':');
        t.truthy(clab.topology.nodes[node], `${e}: a node of the topology`);
        used.set(node, [...(used.get(node) ?? []), iface]);
      }
    }
    for (const [node, ifaces] of used) {
      // eth0 is containerlab's management interface: the lab's ports are eth1..N, each once.
      t.deepEqual([...ifaces].sort((a, b) => Number(a.slice(3)) - Number(b.slice(3))), ifaces.map((_, i) => `eth${i + 1}`), node);
    }
    // Binds: every source is a file the export writes; targets unique per node.
    const written = new Set(out.files.map((f) => `${name}-clab/${f.path}`));
    for (const [node, n] of Object.entries(clab.topology.nodes)) {
      t.is(n.kind, 'linux');
      t.deepEqual(n.exec, ['sh /fabric-lab/setup.sh']);
      const targets = n.binds.map((b) => b.split(':')[1]);
      t.is(new Set(targets).size, targets.length, `${node}: bind targets unique`);
      for (const b of n.binds) t.true(written.has(b.split(':')[0]), `${node}: ${b}`);
      t.true(targets.includes('/fabric-lab/setup.sh'));
      const sw = p.switches.find((s) => s.name === node);
      if (sw?.bgp) t.deepEqual(targets.filter((x) => x.startsWith('/etc/frr/')).sort(), ['/etc/frr/daemons', '/etc/frr/frr.conf', '/etc/frr/vtysh.conf']);
    }
    // Configs name only mapped interfaces.
    for (const sw of p.switches) {
      const mine = new Set(used.get(sw.name) ?? []);
      const script = file(out, `${sw.name}/setup.sh`);
      const conf = out.files.find((x) => x.path === `${sw.name}/frr.conf`)?.content ?? '';
      for (const text of [script, conf]) t.false(/\bswp\d+/.test(text), `${sw.name}: no Cumulus port names left`);
      const commands = script.split('\n').filter((l) => !l.startsWith('#'));
      for (const m of commands.join('\n').matchAll(/\beth\d+\b/g)) t.true(mine.has(m[0]) || commands.includes(`ip route del default dev ${m[0]} 2>/dev/null || true`), `${sw.name}/setup.sh: ${m[0]}`);
      if (!conf) continue;
      // Every cabled port (the outside host's routed port is addressed by the script, as the emulator does).
      const routed = p.outside?.attachedTo === sw.name ? ifmap.get(sw.name)!.get(p.outside.switchPort.name) : undefined;
      t.deepEqual(conf.split('\n').filter((l) => l.startsWith('interface ')).map((l) => l.slice(10)), [...mine].filter((i) => i !== routed), `${sw.name}: frr.conf interfaces`);
      // Descriptions name the peer's end, with the peer's containerlab name.
      for (const m of conf.matchAll(/^ description to (\S+) (\S+)$/gm)) t.true((used.get(m[1]) ?? []).includes(m[2]), `${sw.name}: ${m[0]}`);
    }
    for (const node of p.nodes) {
      const script = file(out, `${node.name}/setup.sh`);
      // Node-level commands (outside the pods' own `ip -n POD` batches) never name eth0 but to drop the management default route.
      const own = nodeLevel(script, p.pods.filter((x) => x.node === node.name).map((x) => x.name));
      const eth = [...new Set([...own.join('\n').matchAll(/\beth\d+\b/g)].map((m) => m[0]))].sort();
      t.deepEqual(eth.filter((e) => e !== 'eth0'), ['eth1'], node.name);
      t.deepEqual(own.filter((l) => /\beth0\b/.test(l)), ['ip route del default dev eth0 2>/dev/null || true'], node.name);
    }
  });
}

/** Lines of a node's script but those inside `ip -n POD -batch` heredocs and the pod veth's peer clause. */
function nodeLevel(script: string, pods: string[]): string[] {
  const out: string[] = [];
  let inPod = false;
  for (const l of script.split('\n')) {
    if (l.startsWith('#')) continue;
    if (pods.some((p) => l.startsWith(`ip -n ${p} -batch`))) { inPod = true; continue; }
    if (inPod) { if (l === 'EOF') inPod = false; continue; }
    out.push(l.replace(/ peer name eth0 netns \S+.*$/, ''));
  }
  return out;
}

test('interface mapping: switch port i is eth<i>, a node\'s eth0 is eth1; renameWords rewrites whole words only', async (t) => {
  const { plan: p } = await exported('calico-vxlan');
  const m = interfaceMap(p);
  t.deepEqual([...m.get('leaf1')!], [['swp1', 'eth1'], ['swp2', 'eth2'], ['swp3', 'eth3'], ['swp4', 'eth4'], ['swp5', 'eth5']]);
  t.deepEqual([...m.get('k8s-node-l1-1')!], [['eth0', 'eth1']]);
  t.is(renameWords('addr add 10.0.0.1/24 dev eth0', m.get('k8s-node-l1-1')!), 'addr add 10.0.0.1/24 dev eth1');
  t.is(renameWords('link set swp10 master br0', new Map([['swp1', 'eth1']])), 'link set swp10 master br0');
});

test('the nat table is one shared file; each node restores its own filter table and that', async (t) => {
  const { out, clab } = await exported('calico-vxlan');
  const nat = file(out, 'iptables-nat.rules');
  t.true(nat.startsWith('# nat table') && nat.includes('*nat') && !nat.includes('*filter') && nat.trimEnd().endsWith('COMMIT'));
  const filter = file(out, 'k8s-node-l2-1/iptables-filter.rules');
  t.true(filter.includes('*filter') && !filter.includes('*nat'));
  t.true(clab.topology.nodes['k8s-node-l2-1'].binds.includes('calico-vxlan-clab/iptables-nat.rules:/fabric-lab/iptables-nat.rules'));
  // The two files hold exactly the rules `lab up` restores on that node, in the same order.
  const { plan } = await exported('calico-vxlan');
  const rulesOf = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
  t.deepEqual([...rulesOf(filter), ...rulesOf(nat)], rulesOf(nodeIptables(plan, 'k8s-node-l2-1', [])));
  t.is(filter.split('\n')[0], nodeIptables(plan, 'k8s-node-l2-1', []).split('\n')[0], 'the node\'s header comment');
  t.true(filter.endsWith('COMMIT\n') && nat.endsWith('COMMIT\n'));
});

test('mode by mode: VXLAN dataplane on eth1, BIRD in BGP mode, tunl0 checked in IPIP mode, the bridge CNI', async (t) => {
  const vx = file((await exported('calico-vxlan')).out, 'k8s-node-l1-1/setup.sh');
  t.true(vx.includes('type vxlan id 4096 local 10.0.101.101 dev eth1 dstport 4789 nolearning'));
  t.true(vx.includes('bridge -batch -') && !vx.includes('bird -c'));
  const bgp = await exported('calico-bgp');
  const s = file(bgp.out, 'k8s-node-l1-1/setup.sh');
  t.true(s.includes('bird -c /fabric-lab/bird.conf -s /run/bird.ctl') && !s.includes('vxlan'));
  t.true(file(bgp.out, 'k8s-node-l1-1/bird.conf').includes('neighbor 10.0.101.1 as 65101'));
  t.true(file(bgp.out, 'leaf1/frr.conf').includes(' bgp listen range 10.0.101.0/24 peer-group RACK'));
  const ipip = file((await exported('calico-ipip')).out, `${(await exported('calico-ipip')).plan.nodes[0].name}/setup.sh`);
  t.true(ipip.includes('[ -e /sys/class/net/tunl0 ]') && ipip.includes('dev tunl0 onlink'));
  t.true((await exported('calico-ipip')).out.topology.includes('IPIP: the host kernel needs the ipip module'));
  const br = await exported('bridge-static');
  t.true(file(br.out, `${br.plan.nodes[0].name}/setup.sh`).includes('type bridge'));
  t.is(br.clab.topology.nodes.lan.image, 'nicolaka/netshoot:latest', 'the LAN switch (a bridge, no FRR) runs the host image');
  t.deepEqual(br.clab.topology.nodes.lan.binds, ['bridge-static-clab/lan/setup.sh:/fabric-lab/setup.sh']);
});

test('the outside host: a container on the border switch\'s next port, routed, announced, answering', async (t) => {
  const { plan: p, out, clab } = await exported('ox-vxlan');
  t.is(p.outside!.attachedTo, 'leaf2');
  t.true(clab.topology.links.some((l) => l.endpoints.join(' ') === 'leaf2:eth5 outside:eth1'));
  t.true(file(out, 'leaf2/setup.sh').includes('addr add 203.0.113.1/24 dev eth5'));
  t.true(file(out, 'leaf2/frr.conf').includes('  network 203.0.113.0/24'));
  const s = file(out, 'outside/setup.sh');
  t.true(s.includes('addr add 203.0.113.2/24 dev eth1') && s.includes('route add default via 203.0.113.1 dev eth1'));
  t.deepEqual(JSON.parse(file(out, 'outside/responder.json')).listeners, [{ name: 'outside', netns: '/proc/self/ns/net', ports: [80] }]);
  const lan = await exported('ox-bridge');
  t.true(lan.clab.topology.links.some((l) => l.endpoints.join(' ') === `lan:eth${lan.plan.switches[0].ports.length + 1} outside:eth1`));
});

test('the top of the file says how to run it and what it cannot express', async (t) => {
  const { out } = await exported('calico-vxlan');
  const head = out.topology.split('\n').filter((l) => l.startsWith('#')).join('\n');
  for (const s of ['containerlab deploy -t calico-vxlan.clab.yml', 'clabverter --topologyFile calico-vxlan.clab.yml --stdout', 'What the emulator does that this file does not',
    'NetworkPolicies', 'eth0 is containerlab\'s management port', 'network namespaces inside their node\'s container']) t.true(head.includes(s), s);
  t.true(out.topology.split('\n')[0].startsWith('# calico-vxlan: '));
});

test('exporting is deterministic and pure: two plans give identical output', async (t) => {
  for (const name of ['calico-vxlan', 'calico-bgp', 'netpol']) {
    const a = exportContainerlab(plan(await loadLab(name)), options(name));
    const b = exportContainerlab(plan(await loadLab(name)), options(name));
    t.deepEqual(a.files, b.files, name);
    t.is(a.topology, b.topology, name);
  }
});

test('calico-vxlan: the export matches the golden files byte for byte (reviewed by eye)', async (t) => {
  const { out } = await exported('calico-vxlan');
  // responder.py is the emulator's, copied as is: compared with its source instead.
  t.is(file(out, 'responder.py'), readFileSync(path.join(repoRoot, 'emulator-configs/responder.py'), 'utf8'));
  checkGolden(t, 'calico-vxlan', [
    { path: 'containerlab/calico-vxlan.clab.yml', content: out.topology },
    ...out.files.filter((f) => f.path !== 'responder.py').map((f) => ({ path: `containerlab/calico-vxlan-clab/${f.path}`, content: f.content })),
  ], ['containerlab']);
});

// ---- real tools ----------------------------------------------------------------------

async function dryrun(conf: string) {
  return execa('vtysh', ['--dryrun', '-f', writeTmp(conf, 'frr.conf')], { reject: false, all: true });
}
async function shellcheck(script: string) {
  return execa('shellcheck', ['-s', 'sh', writeTmp(script, 'setup.sh')], { reject: false, all: true });
}
/** Every config of the small labs; of the big ones a spine, a leaf and a node (the rest differ in numbers only). */
async function sampled(suffix: string) {
  const out: { lab: string; path: string; content: string }[] = [];
  for (const name of LABS) {
    const { plan: p, out: e } = await exported(name);
    const keep = BIG(name) ? new Set([p.switches[0].name, p.switches[p.switches.length - 1].name, p.nodes[0].name, p.pods[0]?.node]) : undefined;
    for (const f of e.files) if (f.path.endsWith(suffix) && (!keep || keep.has(f.path.split('/')[0]))) out.push({ lab: name, ...f });
  }
  return out;
}

test('vtysh --dryrun accepts every exported frr.conf (rewritten interface names), silently', async (t) => {
  const confs = await sampled('/frr.conf');
  t.true(confs.length >= 15, `${confs.length} files`);
  for (const c of confs) {
    const r = await dryrun(c.content);
    t.is(r.exitCode, 0, `${c.lab} ${c.path}: ${r.all}`);
    t.is(r.all, '', `${c.lab} ${c.path}`);
  }
});

test('shellcheck accepts every exported setup script; both checkers do reject a broken file', async (t) => {
  const scripts = await sampled('/setup.sh');
  t.true(scripts.length >= 40, `${scripts.length} scripts`);
  const results = await Promise.all(scripts.map(async (s) => ({ s, r: await shellcheck(s.content) })));
  for (const { s, r } of results) t.is(r.exitCode, 0, `${s.lab} ${s.path}: ${r.all}`);
  const good = file((await exported('calico-bgp')).out, 'k8s-node-l1-1/setup.sh');
  t.not((await shellcheck(good.replace('set -eu', 'set -eu\ncd $HOME'))).exitCode, 0, 'an unquoted variable is flagged');
  const conf = file((await exported('calico-bgp')).out, 'leaf1/frr.conf');
  t.not((await dryrun(conf.replace(' neighbor FABRIC timers connect', ' neighbor FABRIC timerz connect'))).exitCode, 0, 'a broken frr.conf is refused');
});
