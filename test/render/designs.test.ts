// Fabric designs (labs/README.md "Fabric designs"): every switch its own AS, spines
// sharing one AS (RFC 7938, labs/rfc7938.yaml), leaves sharing one AS (allowas-in). The
// plan, the route intent per design (through which neighbours), and what is rendered for
// FRR, BIRD and Calico, checked with the real tools offline.
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { loadLab, parseLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import { repoRoot } from '../../src/paths.js';
import { renderFabric } from '../../src/render/fabric.js';
import { renderCalico } from '../../src/render/calico.js';
import { renderBirdConf } from '../../src/providers/emulator/bird.js';
import { loadCalicoValidator } from '../../src/render/k8s/calico-validate.js';
import { formatPlan } from '../../src/cli/show.js';

const fixture = (name: string) => path.join(repoRoot, 'test/fixtures/labs', `${name}.yaml`);
const planOf = async (ref: string) => plan(await loadLab(ref));
const sw = (p: Plan, name: string) => p.switches.find((s) => s.name === name)!;
const route = (p: Plan, device: string, prefix: string) => p.intent.routes.find((r) => r.device === device && r.prefix === prefix)!;
const tmp = mkdtempSync(path.join(tmpdir(), 'designs-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

test('unique AS (calico-bgp): a spine reaches a leaf rack via that leaf only, a leaf via every spine', async (t) => {
  const p = await planOf('calico-bgp');
  t.deepEqual(p.design, { sharedLeafAsns: [] });
  t.deepEqual(route(p, 'spine-sw1', '10.0.101.0/24').via, [{ device: 'leaf1', ip: '172.16.0.1' }]);
  t.deepEqual(route(p, 'spine-sw2', '10.0.101.0/24').via, [{ device: 'leaf1', ip: '172.16.0.5' }]);
  t.deepEqual(route(p, 'leaf1', '10.0.102.0/24').via, [{ device: 'spine-sw1', ip: '172.16.0.0' }, { device: 'spine-sw2', ip: '172.16.0.4' }]);
  t.is(route(p, 'leaf1', '10.0.102.0/24').nextHops, 2);
  t.regex(route(p, 'spine-sw1', '10.0.101.0/24').why, /directly from leaf1 \(a path through another leaf would be a valley\)/);
  // Pod blocks: a spine via the node's leaf, the node's own leaf from the node, other leaves via the spines.
  const node = p.nodes.find((n) => n.name === 'k8s-node-l2-1')!;
  t.deepEqual(route(p, 'spine-sw1', node.blocks[0]).via, [{ device: 'leaf2', ip: '172.16.0.3' }]);
  t.deepEqual(route(p, 'leaf2', node.blocks[0]).via, [{ device: 'k8s-node-l2-1', ip: node.addr.ip }]);
  t.deepEqual(route(p, 'leaf1', node.blocks[0]).via?.map((v) => v.device), ['spine-sw1', 'spine-sw2']);
  t.true(p.switches.every((s) => s.bgp?.allowasIn === undefined));
  t.true(p.nodes.every((n) => n.bgp?.allowLocalAs === undefined));
});

test('rfc7938: spines share AS 65000, the same neighbours; no valley can form, says the intent', async (t) => {
  const p = await planOf('rfc7938');
  t.deepEqual(p.design, { spineAsn: 65000, sharedLeafAsns: [] });
  t.deepEqual(p.switches.filter((s) => s.kind === 'spine').map((s) => s.bgp!.asn), [65000, 65000]);
  t.deepEqual(route(p, 'spine-sw1', '10.0.101.0/24').via, [{ device: 'leaf1', ip: '172.16.0.1' }]);
  t.deepEqual(route(p, 'leaf2', '172.16.255.101/32').via?.map((v) => v.device), ['spine-sw1', 'spine-sw2']);
  t.regex(route(p, 'spine-sw1', '10.0.101.0/24').why, /no valley can form: the spines share AS 65000/);
  t.true(p.switches.every((s) => s.bgp?.allowasIn === undefined), 'no AS repeats in a valley-free path: no allowas-in');
  t.true(p.nodes.every((n) => n.bgp?.allowLocalAs === undefined));
  t.regex(formatPlan(p), /ASes: {5}spines share AS 65000 \(RFC 7938: no path crosses two spines\); every leaf its own AS/);
  t.regex(formatPlan(p), /spine-sw1 +10\.0\.101\.0\/24 +present, 1 next hop via leaf1 /);
  t.regex(formatPlan(p), /leaf1 +10\.0\.102\.0\/24 +present, 2 next hops via spine-sw1, spine-sw2 /);
  const leafConf = renderFabric(p).find((a) => a.path === 'fabric-configs/leaf1/frr.conf')!.content;
  t.regex(leafConf, /neighbor 172\.16\.0\.0 remote-as 65000\n[^]*neighbor 172\.16\.0\.4 remote-as 65000\n/);
  t.notRegex(leafConf, /allowas-in/);
});

test('leaves sharing AS 65100: allowas-in on those leaves only, BIRD allow local as and BGPPeer numAllowedLocalASNumbers for their racks', async (t) => {
  const p = await planOf(fixture('shared-leaf-as'));
  t.deepEqual(p.design, { sharedLeafAsns: [65100] });
  t.deepEqual(p.switches.map((s) => [s.name, s.bgp?.allowasIn]), [['sp1', undefined], ['sp2', undefined], ['lf1', 1], ['lf2', 1], ['lf3', undefined]]);
  t.deepEqual(p.nodes.map((n) => [n.name, n.bgp!.asn, n.bgp!.allowLocalAs]), [['cp1', 65100, 1], ['w1', 65100, 1], ['w2', 65103, undefined]]);
  t.regex(formatPlan(p), /every spine its own AS; leaves share AS 65100 \(allowas-in 1 from the spines\)/);
  // Same intent as the unique design: the AS plan changes what BGP accepts, not which way is right.
  t.deepEqual(route(p, 'sp1', '10.1.1.0/24').via, [{ device: 'lf1', ip: '10.254.0.1' }]);
  t.deepEqual(route(p, 'lf2', '10.1.1.0/24').via?.map((v) => v.device), ['sp1', 'sp2']);

  const frr = (name: string) => renderFabric(p).find((a) => a.path === `fabric-configs/${name}/frr.conf`)!.content;
  t.regex(frr('lf1'), /\n {2}neighbor FABRIC allowas-in 1\n/);
  t.notRegex(frr('lf3'), /allowas-in/);
  t.notRegex(frr('sp1'), /allowas-in/);

  const peers = renderCalico(p).find((a) => a.path === 'calico/bgppeers.yaml')!;
  const docs = parseAllDocuments(peers.content).map((d) => d.toJS());
  t.deepEqual(docs.map((d) => [d.metadata.name, d.spec.numAllowedLocalASNumbers]), [['rack-lf1', 1], ['rack-lf2', 1], ['rack-lf3', undefined]]);
  const validator = loadCalicoValidator();
  for (const d of docs) t.deepEqual(validator.validate(d), [], d.metadata.name);

  // BIRD's own parser accepts the node config, and only shared racks carry the option.
  for (const n of p.nodes) {
    const conf = renderBirdConf(p, n, path.join(tmp, `${n.name}.log`));
    t.is(conf.includes('allow local as 1;'), n.bgp!.allowLocalAs === 1, n.name);
    const file = path.join(tmp, `${n.name}.conf`);
    writeFileSync(file, conf);
    const r = await execa('bird', ['-p', '-c', file], { reject: false, all: true });
    t.is(r.exitCode, 0, `${n.name}: ${r.all}`);
  }
});

test('leaves sharing an AS with as-per-node peering: nodes keep their own AS, no allow local as', async (t) => {
  const lab = await loadLab(fixture('shared-leaf-as'));
  if (lab.cni?.plugin !== 'calico') throw new Error('calico lab expected');
  lab.cni.calico.peering = 'as-per-node';
  const p = plan(lab);
  t.true(p.nodes.every((n) => n.bgp!.allowLocalAs === undefined && n.bgp!.asn > 4200000000));
  t.is(sw(p, 'lf1').bgp!.allowasIn, 1, 'the leaves still accept each other');
});

test('a lab with spines sharing one AS and leaves sharing another loads; partial sharing among spines does not', (t) => {
  const text = (spines: number[], leaves: number[]) => [
    'name: x', 'fabric:', '  addressing: { loopback: 172.16.255.0/24, p2p: 172.16.0.0/24 }', '  spines:',
    ...spines.map((a, i) => `    - { name: s${i + 1}, asn: ${a} }`), '  leaves:',
    ...leaves.map((a, i) => `    - { name: l${i + 1}, asn: ${a}, rack: 10.0.${i + 1}.0/24 }`), '',
  ].join('\n');
  const p = plan(parseLab(text([65000, 65000, 65000], [65100, 65100]), '/labs/x.yaml'));
  t.deepEqual(p.design, { spineAsn: 65000, sharedLeafAsns: [65100] });
  const err = t.throws(() => parseLab(text([65000, 65000, 65003], [65100, 65101]), '/labs/x.yaml'));
  t.regex(err!.message, /x\.yaml:6:24 +fabric\.spines\[1\]\.asn +asn 65000 is already used by fabric\.spines\[0\] \(s1\)/);
  const err2 = t.throws(() => parseLab(text([65000, 65000], [65100, 65000]), '/labs/x.yaml'));
  t.regex(err2!.message, /fabric\.leaves\[1\]\.asn +asn 65000 is already used by fabric\.spines\[0\] \(s1\): a leaf and a spine in one AS/);
});
