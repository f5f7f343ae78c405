// Calico artifacts: every rendered document (parsed back from the file text) validates
// against the CRD schemas, the validator does catch bad documents, and the documents
// mean what DESIGN 3.2-3.4 says.
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments, parse, stringify } from 'yaml';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { repoRoot } from '../../src/paths.js';
import type { Plan } from '../../src/plan/types.js';
import { renderCalico } from '../../src/render/calico.js';
import { loadCalicoValidator, vendoredCrdDir } from '../../src/render/k8s/calico-validate.js';

const validator = loadCalicoValidator();
const CALICO_LABS = ['calico-vxlan', 'calico-bgp', 'calico-ipip'] as const;

async function planOf(name: string, tweak?: (lab: Awaited<ReturnType<typeof loadLab>>) => void): Promise<Plan> {
  const lab = await loadLab(name);
  tweak?.(lab);
  return plan(lab);
}

const asPerNode = (lab: Awaited<ReturnType<typeof loadLab>>) => {
  if (lab.cni?.plugin === 'calico') lab.cni.calico.peering = 'as-per-node';
};

/* eslint-disable @typescript-eslint/no-explicit-any */
/** file (under calico/) -> the documents parsed back from the rendered text. */
function docsByFile(p: Plan): Map<string, any[]> {
  return new Map(renderCalico(p).map((a) => {
    const docs = parseAllDocuments(a.content);
    for (const d of docs) if (d.errors.length) throw new Error(`${a.path}: ${d.errors[0].message}`);
    return [a.path.replace(/^calico\//, ''), docs.map((d) => d.toJS())];
  }));
}

const valid = () => ({
  apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'default-ipv4-ippool' },
  spec: { cidr: '10.64.0.0/12', blockSize: 26, ipipMode: 'Never', vxlanMode: 'Always', natOutgoing: true, nodeSelector: 'all()' },
});

for (const name of CALICO_LABS) {
  test(`${name}: every Calico document validates against its CRD schema`, async (t) => {
    const files = docsByFile(await planOf(name));
    let count = 0;
    for (const [file, docs] of files) {
      for (const doc of docs) {
        t.deepEqual(validator.validate(doc), [], `${file}: ${doc.kind} ${doc.metadata?.name}`);
        count++;
      }
    }
    t.true(count >= 4, 'pool, felix, bgp config and at least one node');
  });
}

test('calico-bgp as-per-node: every document validates (32-bit node ASNs on Node only)', async (t) => {
  for (const [file, docs] of docsByFile(await planOf('calico-bgp', asPerNode))) {
    for (const doc of docs) t.deepEqual(validator.validate(doc), [], `${file}: ${doc.kind} ${doc.metadata?.name}`);
  }
});

test('the validator knows the four CRD kinds and Node', (t) => {
  t.deepEqual(validator.kinds, ['BGPConfiguration', 'BGPPeer', 'FelixConfiguration', 'IPPool', 'Node']);
});

test('the validator accepts a known-good pool (baseline for the negative tests)', (t) => {
  t.deepEqual(validator.validate(valid()), []);
});

const negatives: [string, (d: any) => void, RegExp][] = [
  ['misspelt spec field', (d) => { d.spec.vxlanMod = 'Always'; }, /additional properties 'vxlanMod'/],
  ['bad enum value', (d) => { d.spec.vxlanMode = 'Sometimes'; }, /\/spec\/vxlanMode must be equal to one of the allowed values/],
  ['wrong type', (d) => { d.spec.natOutgoing = 'yes'; }, /\/spec\/natOutgoing must be boolean/],
  ['bad cidr format', (d) => { d.spec.cidr = '10.64.0/12'; }, /\/spec\/cidr must match format "cidr"/],
  ['CEL: IPIP and VXLAN both on', (d) => { d.spec.ipipMode = 'Always'; }, /ipipMode and vxlanMode cannot both be enabled/],
  ['CEL: host bits in pool CIDR', (d) => { d.spec.cidr = '10.64.0.1/12'; }, /strictly masked/],
  ['CEL: block size out of range', (d) => { d.spec.blockSize = 33; }, /blockSize must be between 20 and 32/],
  ['CEL: pool smaller than a block', (d) => { d.spec.cidr = '10.64.0.0/28'; }, /too small/],
  ['unknown metadata field', (d) => { d.metadata.namespace = 'x'; }, /\/metadata must NOT have additional properties 'namespace'/],
  ['bad resource name', (d) => { d.metadata.name = 'Default_Pool'; }, /\/metadata\/name must match pattern/],
  ['missing name', (d) => { delete d.metadata.name; }, /\/metadata must have required property 'name'/],
  ['wrong apiVersion', (d) => { d.apiVersion = 'crd.projectcalico.org/v1'; }, /\/apiVersion must be equal to constant/],
  ['unknown kind', (d) => { d.kind = 'IPPoolz'; }, /no schema for kind IPPoolz/],
];
for (const [what, mutate, expected] of negatives) {
  test(`the validator rejects an IPPool with a ${what}`, (t) => {
    const doc = valid();
    mutate(doc);
    const problems = validator.validate(doc);
    t.true(problems.some((p) => expected.test(p)), problems.join('\n') || '(no problems reported)');
  });
}

test('the validator rejects bad BGPPeer, BGPConfiguration, Felix and Node documents', (t) => {
  const base = { apiVersion: 'projectcalico.org/v3', metadata: { name: 'x' } };
  const cases: [object, RegExp][] = [
    [{ ...base, kind: 'BGPPeer', spec: { node: 'n1', nodeSelector: 'all()', peerIP: '10.0.0.1', asNumber: 65000 } }, /node and nodeSelector cannot both be set/],
    [{ ...base, kind: 'BGPPeer', spec: { peerIP: '10.0.0.1', asNumber: 4_200_000_001 } }, /\/spec\/asNumber must match format "int32"/],
    [{ ...base, kind: 'BGPConfiguration', spec: { nodeToNodeMeshEnabled: 'false' } }, /must be boolean/],
    [{ ...base, kind: 'BGPConfiguration', spec: { logSeverityScreen: 'Loud' } }, /logSeverityScreen must match pattern/],
    [{ ...base, metadata: { name: 'default' }, kind: 'FelixConfiguration', spec: { vxlanVNI: '4096' } }, /\/spec\/vxlanVNI must be integer/],
    [{ ...base, metadata: { name: 'default' }, kind: 'FelixConfiguration', spec: { nodeSelector: 'all()' } }, /nodeSelector must not be set on the 'default'/],
    [{ ...base, kind: 'Node', spec: { bgp: { ipv4Address: '10.0.101.100' } } }, /ipv4Address must match format "ipv4-interface"/],
    [{ ...base, kind: 'Node', spec: { bgp: { ipv4Address: '10.0.101.100/24', asn: 65101 } } }, /additional properties 'asn'/],
    [{ ...base, kind: 'Node', metadata: { name: 'n', labels: { rack: 'leaf 1' } }, spec: {} }, /\/metadata\/labels\/rack must match pattern/],
  ];
  for (const [doc, expected] of cases) {
    const problems = validator.validate(doc);
    t.true(problems.some((p) => expected.test(p)), `${JSON.stringify(doc)}\n${problems.join('\n') || '(no problems reported)'}`);
  }
});

test('a (?i) pattern is case-insensitive, as in Go', (t) => {
  const doc = { apiVersion: 'projectcalico.org/v3', kind: 'BGPConfiguration', metadata: { name: 'default' }, spec: { logSeverityScreen: 'debug' } };
  t.deepEqual(validator.validate(doc), []);
});

test('a CEL rule the validator does not implement is a compile error, not a silent pass', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'crds-'));
  const crd = parse(readFileSync(path.join(vendoredCrdDir, 'ippools.yaml'), 'utf8'));
  crd.spec.versions[0].schema.openAPIV3Schema.properties.spec['x-kubernetes-validations'].push({ rule: 'self.cidr != "0.0.0.0/0"', message: 'new rule' });
  writeFileSync(path.join(dir, 'ippools.yaml'), stringify(crd));
  t.throws(() => loadCalicoValidator(dir), { message: /CEL rule not implemented/ });
});

test('the vendored CRDs are the shared ones, unchanged', (t) => {
  // CI and developers have shared/ beside the repository.
  const shared = path.join(repoRoot, '..', 'shared', 'calico-crds', 'projectcalico.org-v3');
  if (!existsSync(shared)) return t.pass('shared CRDs not on this machine');
  for (const f of readdirSync(vendoredCrdDir).filter((x) => x.endsWith('.yaml'))) {
    t.is(readFileSync(path.join(vendoredCrdDir, f), 'utf8'), readFileSync(path.join(shared, f), 'utf8'), f);
  }
});

// --- semantics -----------------------------------------------------------------------

test('vxlan: pool is VXLAN Always, IPIP Never; Felix has the lab VNI/port; no BGP peers; mesh off', async (t) => {
  const files = docsByFile(await planOf('calico-vxlan'));
  const [pool] = files.get('ippool.yaml')!;
  t.like(pool.spec, { cidr: '10.64.0.0/12', blockSize: 26, vxlanMode: 'Always', ipipMode: 'Never', natOutgoing: true, nodeSelector: 'all()' });
  t.is(pool.metadata.name, 'default-ipv4-ippool');
  const [felix] = files.get('felixconfiguration.yaml')!;
  t.like(felix.spec, { vxlanEnabled: true, vxlanVNI: 4096, vxlanPort: 4789, vxlanMTU: 1450, ipipEnabled: false });
  t.false(files.has('bgppeers.yaml'));
  t.false(files.get('bgpconfiguration.yaml')![0].spec.nodeToNodeMeshEnabled);
  for (const node of files.get('nodes.yaml')!) t.is(node.spec.bgp.asNumber, undefined, `${node.metadata.name}: no AS, BGP is off`);
});

test('bgp as-per-rack: one BGPPeer per rack with the rack gateway, leaf AS and rack selector', async (t) => {
  const p = await planOf('calico-bgp');
  const files = docsByFile(p);
  const leaves = p.switches.filter((s) => s.kind === 'leaf');
  const peers = files.get('bgppeers.yaml')!;
  t.deepEqual(peers.map((d) => d.metadata.name), leaves.map((l) => `rack-${l.name}`));
  t.deepEqual(peers[0].spec, { nodeSelector: "rack == 'leaf1'", peerIP: '10.0.101.1', asNumber: 65101 });
  t.deepEqual(peers[1].spec, { nodeSelector: "rack == 'leaf2'", peerIP: '10.0.102.1', asNumber: 65102 });
  const [pool] = files.get('ippool.yaml')!;
  t.like(pool.spec, { vxlanMode: 'Never', ipipMode: 'Never' });
  t.like(files.get('bgpconfiguration.yaml')![0].spec, { nodeToNodeMeshEnabled: false, asNumber: 64512 });
  t.like(files.get('felixconfiguration.yaml')![0].spec, { vxlanEnabled: false, ipipEnabled: false });
});

test('bgp as-per-rack: every node has its leaf AS, its address/prefix and rack label', async (t) => {
  const p = await planOf('calico-bgp');
  const nodes = docsByFile(p).get('nodes.yaml')!;
  t.is(nodes.length, p.nodes.length);
  const leafAsn = new Map(p.switches.map((s) => [s.name, s.bgp?.asn]));
  for (const [i, n] of p.nodes.entries()) {
    t.is(nodes[i].metadata.name, n.name);
    t.deepEqual(nodes[i].metadata.labels, { rack: n.rack });
    t.is(nodes[i].spec.bgp.asNumber, leafAsn.get(n.rack!));
    t.is(nodes[i].spec.bgp.ipv4Address, `${n.addr.ip}/24`);
  }
  t.is(nodes[3].spec.bgp.asNumber, 65102);
});

test('bgp as-per-node: the same rack peers, but every node its own AS', async (t) => {
  const p = await planOf('calico-bgp', asPerNode);
  const files = docsByFile(p);
  t.deepEqual(files.get('bgppeers.yaml')!.map((d) => d.spec.asNumber), [65101, 65102]);
  const asns = files.get('nodes.yaml')!.map((d) => d.spec.bgp.asNumber);
  t.deepEqual(asns, p.nodes.map((n) => n.bgp!.asn));
  t.is(new Set(asns).size, asns.length, 'distinct');
  t.false(asns.some((a) => a === 65101 || a === 65102), 'never a leaf AS');
});

test('ipip: pool IPIP Always, VXLAN Never; mesh on in the cluster AS; Felix IPIP; no peers', async (t) => {
  const files = docsByFile(await planOf('calico-ipip'));
  t.like(files.get('ippool.yaml')![0].spec, { cidr: '10.244.0.0/16', ipipMode: 'Always', vxlanMode: 'Never' });
  t.like(files.get('bgpconfiguration.yaml')![0].spec, { nodeToNodeMeshEnabled: true, asNumber: 64512 });
  t.like(files.get('felixconfiguration.yaml')![0].spec, { ipipEnabled: true, ipipMTU: 1480, vxlanEnabled: false });
  t.false(files.has('bgppeers.yaml'));
  const nodes = files.get('nodes.yaml')!;
  t.deepEqual(nodes.map((n) => n.spec.bgp.ipv4Address), ['192.168.50.10/24', '192.168.50.11/24', '192.168.50.12/24']);
  t.is(nodes[0].metadata.labels, undefined, 'no rack on a LAN');
});

test('bridge-CNI and fabric-only labs get no calico/ files', async (t) => {
  t.deepEqual(renderCalico(await planOf('bridge-static')), []);
  t.deepEqual(renderCalico(await planOf('kthw-static')), []);
  const fabricOnly = await planOf('calico-vxlan', (lab) => { delete lab.kubernetes; delete lab.cni; lab.workloads = []; });
  t.deepEqual(renderCalico(fabricOnly), []);
});

test('Calico files are multi-document YAML with a header and no anchors', async (t) => {
  for (const a of renderCalico(await planOf('calico-bgp'))) {
    t.true(a.content.startsWith('# '), a.path);
    t.regex(a.content, /Generated by fabric-lab from lab 'calico-bgp'/);
    t.notRegex(a.content, /[&*]a\d/, 'no YAML aliases');
    t.true(a.content.endsWith('\n'));
  }
  const peers = renderCalico(await planOf('calico-bgp')).find((a) => a.path === 'calico/bgppeers.yaml')!;
  t.is(peers.content.split('\n---\n').length, 2);
});
