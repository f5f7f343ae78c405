// Broken lab files: every problem reported, each at the right line, column and field,
// with a message that says what is wrong and what is allowed; never a stack trace.
import test from 'ava';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLab, parseLab } from '../../src/lab/load.js';
import { ExitCode, LabFileError, type Problem } from '../../src/errors.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'bad-labs');

/** [line, col, path, part of the message] per expected problem, in file order. */
type Expect = [number, number, string, string];

async function problems(fixture: string): Promise<Problem[]> {
  const err = await loadLab(path.join(dir, fixture)).then(() => undefined, (e: unknown) => e);
  if (!(err instanceof LabFileError)) throw new Error(`${fixture}: expected a LabFileError, got ${String(err)}`);
  return err.problems;
}

function assertProblems(t: import('ava').ExecutionContext, got: Problem[], want: Expect[], fixture: string): void {
  const shown = got.map((p) => `${p.line}:${p.col}  ${p.path || '(file)'}  ${p.message}`).join('\n');
  t.is(got.length, want.length, `all problems of ${fixture}, and only those:\n${shown}`);
  want.forEach(([line, col, field, part], i) => {
    const p = got[i];
    t.truthy(p, `problem ${i + 1} of ${fixture}`);
    if (!p) return;
    t.deepEqual([p.line, p.col, p.path], [line, col, field], shown);
    t.true(p.message.includes(part), `"${p.message}" should include "${part}"`);
    t.true(p.file.endsWith(path.join('bad-labs', fixture)));
  });
}

const CASES: Record<string, Expect[]> = {
  'unknown-keys.yaml': [
    [3, 52, 'lan.adress', 'unknown key "adress"; allowed: subnet, gateway'],
    [9, 40, 'kubernetes.nodes[0].ipaddr', 'unknown key "ipaddr"; allowed: name, leaf, role, ip'],
    [14, 5, 'cni.calico.blocksize', 'unknown key "blocksize" (did you mean "blockSize"?); allowed: mode, blockSize,'],
  ],
  'unquoted-version.yaml': [
    [4, 12, 'kubernetes.version', 'YAML reads unquoted 1.30 as the decimal number 1.3: quote it, version: "1.30"'],
  ],
  'bad-enums.yaml': [
    [3, 7, 'fabric.os', 'must be one of: cumulus, frr; got the text "nxos"'],
    [14, 38, 'kubernetes.nodes[0].role', 'must be one of: control-plane, worker'],
    [17, 19, 'cni.calico.mode', 'must be one of: vxlan, bgp, ipip; got the text "vxlam"'],
    [17, 35, 'cni.calico.peering', 'must be one of: as-per-rack, as-per-node'],
  ],
  'wrong-types.yaml': [
    [5, 28, 'fabric.spines[0].asn', 'must be a whole number, not text: remove the quotes, asn: 65001'],
    [7, 27, 'fabric.leaves[0].asn', 'must be a whole number; got the decimal number 65101.5'],
    [13, 5, 'kubernetes.nodes', 'must be a list; got a mapping'],
    [17, 39, 'cni.calico.natOutgoing', 'must be true or false; got the text "yes"'],
    [19, 48, 'workloads[0].replicas', 'must be a whole number; got the text "many"'],
    [20, 5, 'workloads[1]', 'must be a mapping'],
  ],
  'host-bits.yaml': [
    [3, 49, 'fabric.addressing.p2p', 'has no /prefix; use CIDR form like 10.0.0.0/24'],
    [7, 40, 'fabric.leaves[0].rack', '"10.0.101.5/24" is not a network address (host bits set); did you mean 10.0.101.0/24?'],
    [8, 40, 'fabric.leaves[1].rack', '"/33" in "10.0.102.0/33" is not a prefix length; use 0..32'],
    [9, 40, 'fabric.leaves[2].rack', 'is IPv6; labs are IPv4 only'],
  ],
  'overlaps.yaml': [
    [5, 10, 'fabric.addressing.p2p', '172.16.0.0/24 overlaps fabric.addressing.loopback (172.16.0.0/16)'],
    [10, 40, 'fabric.leaves[1].rack', '10.0.102.0/24 overlaps fabric.leaves[0].rack (10.0.0.0/16)'],
    [11, 40, 'fabric.leaves[2].rack', '127.0.0.0/24 overlaps 127.0.0.0/8 (loopback)'],
    [15, 18, 'kubernetes.serviceSubnet', '10.64.0.0/16 overlaps kubernetes.podSubnet (10.64.0.0/12)'],
  ],
  'names.yaml': [
    [6, 15, 'fabric.spines[1].name', 'no "/", "..", spaces or shell characters); got the text "../etc"'],
    [9, 15, 'fabric.leaves[1].name', 'got the text "Leaf 2"'],
    [16, 15, 'kubernetes.nodes[1].name', 'name "leaf1" is already used by fabric.leaves[0]'],
    [17, 15, 'kubernetes.nodes[2].name', 'got the text "w;rm -rf"'],
    [20, 13, 'workloads[0].name', 'name "cp" is already used by kubernetes.nodes[0]'],
    [21, 29, 'workloads[1].namespace', 'must be a DNS-1123 label'],
    [22, 13, 'workloads[2].name', 'name "web" is already used by workloads[1]'],
  ],
  'name-mismatch.yaml': [
    [1, 7, 'name', 'must match the file name: "calico-vxlan" is in name-mismatch.yaml'],
  ],
  'node-ips.yaml': [
    [15, 36, 'kubernetes.nodes[1].ip', '10.0.102.10 is outside rack 10.0.101.0/24 of leaf1'],
    [16, 36, 'kubernetes.nodes[2].ip', '10.0.101.1 is the gateway of rack 10.0.101.0/24 of leaf1'],
    [17, 36, 'kubernetes.nodes[3].ip', '10.0.101.255 is the broadcast address of 10.0.101.0/24'],
    [18, 36, 'kubernetes.nodes[4].ip', '10.0.101.10 is already used by kubernetes.nodes[0] (cp)'],
    [19, 36, 'kubernetes.nodes[5].ip', '"10.0.102" is not an IPv4 address'],
    [20, 36, 'kubernetes.nodes[6].ip', '10.0.102.0 is the network address of 10.0.102.0/24'],
  ],
  'leaf-refs.yaml': [
    [14, 5, 'kubernetes.nodes', 'at least one node with role: control-plane'],
    [14, 25, 'kubernetes.nodes[0].leaf', 'unknown leaf "leaf3"'],
    [15, 7, 'kubernetes.nodes[1].leaf', 'missing required key "leaf": on a fabric every node names the leaf it is cabled to (leaf1, leaf2)'],
    [16, 25, 'kubernetes.nodes[2].leaf', 'unknown leaf "lef2" (did you mean "leaf2"?); leaves: leaf1, leaf2'],
  ],
  'lan-rules.yaml': [
    [2, 40, 'lan.gateway', '10.241.0.1 is outside lan.subnet 10.240.0.0/24'],
    [8, 40, 'kubernetes.nodes[0].leaf', 'only for a fabric'],
    [9, 15, 'kubernetes.nodes[1].name', 'name "lan" is already used by the LAN switch'],
    [12, 19, 'cni.calico.mode', 'mode bgp peers every node with its leaf and needs a "fabric:" underlay'],
  ],
  'sections.yaml': [
    [8, 1, 'lan', '"fabric" and "lan" exclude each other'],
    [9, 1, 'kubernetes', 'needs a "cni:" section'],
  ],
  'no-underlay.yaml': [
    [1, 1, '', 'needs an underlay: a "fabric:" section (leaf-spine) or a "lan:" section (flat LAN)'],
    [3, 1, 'cni', 'needs a "kubernetes:" section'],
    [4, 1, 'workloads', 'workloads need a "kubernetes:" section'],
  ],
  'capacity.yaml': [
    [4, 15, 'fabric.addressing.loopback', '172.16.255.0/26 holds 64 addresses; spines take .1, .2 ... and leaves .101, .102 ..., so 2 leaves need 104: use a /25 or larger'],
    [5, 10, 'fabric.addressing.p2p', '172.16.0.0/30 holds 2 /31 links; 2 spines x 2 leaves need 4: use a /29 or larger'],
    [10, 40, 'fabric.leaves[0].rack', '10.0.101.0/30 has no address left for 1 of its 2 nodes without an ip'],
    [22, 37, 'cni.calico.blockSize', 'a /28 block has room for 15 pods, but the workloads put up to 20 on one node: use a blockSize of 27 or smaller'],
  ],
  'asns.yaml': [
    [6, 28, 'fabric.spines[1].asn', 'must be between 1 and 4294967295; got 0'],
    [8, 27, 'fabric.leaves[0].asn', 'asn 65001 is already used by fabric.spines[0] (spine1)'],
    [9, 27, 'fabric.leaves[1].asn', 'must be between 1 and 4294967295; got 4294967296'],
  ],
  // Spines share one AS or each has its own; leaves may share (leaf2, leaf3), never with a spine.
  'fabric-designs.yaml': [
    [6, 28, 'fabric.spines[1].asn', 'asn 65000 is already used by fabric.spines[0] (spine1) while other spines have their own AS: spines either all share one AS (RFC 7938) or each has its own'],
    [9, 27, 'fabric.leaves[0].asn', 'asn 65003 is already used by fabric.spines[2] (spine3): a leaf and a spine in one AS would speak iBGP'],
  ],
  'cni-sections.yaml': [
    [10, 11, 'cni.plugin', 'plugin calico needs a "calico:" section with at least mode'],
    [11, 3, 'cni.bridge', '"bridge:" settings are for plugin bridge; this lab uses plugin calico'],
    [11, 21, 'cni.bridge.bridge', '"eth0" is taken on every node'],
  ],
  'bridge-on-fabric.yaml': [
    [17, 11, 'cni.plugin', 'these nodes sit on leaf1, leaf2: put them on one leaf, use a lan, or use calico'],
    [18, 27, 'cni.bridge.nodeCidrBits', 'nodeCidrBits 12 must lie between the podSubnet prefix length (16) and 30'],
  ],
  'libvirt.yaml': [
    [4, 11, 'libvirt.driver', 'must be one of: kvm, qemu'],
    [5, 17, 'libvirt.switchMemory', 'must be a whole number; got the text "lots"'],
    [6, 12, 'libvirt.nodeBox', 'must be a Vagrant box name'],
    [7, 3, 'libvirt.initrd', 'only used with direct kernel boot: add libvirt.kernel'],
  ],
  'nodes-per-leaf.yaml': [
    [4, 27, 'fabric.bgpTimers.keepalive', 'keepalive 5 s with hold 9 s: a session sends at least three keepalives per hold time; use keepalive 3 or less'],
    [8, 40, 'fabric.leaves[0].rack', '10.0.101.0/28 has no address left for 2 of its 15 nodes without an ip'],
    [16, 36, 'kubernetes.nodesPerLeaf.name', 'the pattern gives kubernetes.nodesPerLeaf (node 1 of leaf2) the name "k8s-1", already used by kubernetes.nodesPerLeaf (node 1 of leaf1); every node needs its own name: put {i} (or {n}) in the pattern, and {leaf} or {l}'],
    [16, 62, 'kubernetes.nodesPerLeaf.controlPlanes', '100 control planes but nodesPerLeaf declares only 28 nodes; at most 28'],
    [19, 26, 'cni.calico.routesToNodes', 'only for mode bgp'],
  ],
  'nodes-pattern.yaml': [
    [12, 26, 'kubernetes.nodesPerLeaf.count', 'must be between 1 and 4096; got 0'],
    [12, 35, 'kubernetes.nodesPerLeaf.name', 'unknown placeholder {rack}, unbalanced "{" or "}" in "k8s-{rack}-{i"; placeholders: {leaf} the leaf name'],
    [15, 39, 'cni.calico.routesToNodes', 'must be one of: all, default; got the text "some"'],
    [17, 28, 'workloads[0].replicas', 'must be between 1 and 100000; got 100001'],
  ],
  'nodes-upper.yaml': [
    [7, 3, 'kubernetes.nodesPerLeaf', 'only for a fabric: on a lan there are no leaves'],
    [7, 35, 'kubernetes.nodesPerLeaf.name', 'must be a name pattern of lowercase letters, digits, "-" and the placeholders'],
  ],
  'nodes-name.yaml': [
    [12, 17, 'kubernetes.nodesPerLeaf', 'a cluster needs at least one node with role: control-plane'],
    [12, 35, 'kubernetes.nodesPerLeaf.name', 'gives kubernetes.nodesPerLeaf (node 1 of leaf1) the name "1-leaf1-", which must be 1-32 lowercase letters'],
  ],
  'duplicate-key.yaml': [[3, 1, '', 'duplicate key "lan": each key may appear once in a mapping']],
  'syntax-error.yaml': [[4, 1, '', 'YAML: All mapping items must start at the same column']],
  'multi-doc.yaml': [[3, 1, '', 'more than one YAML document ("---")']],
  'unknown-alias.yaml': [[2, 6, '', 'YAML: Unresolved alias']],
  'unknown-tag.yaml': [[2, 6, '', 'YAML: Unresolved tag: !net']],
  'top-list.yaml': [[1, 1, '', 'a lab file must be a mapping of keys (name, description, fabric or lan, kubernetes, cni, workloads); got a list']],
  'top-scalar.yaml': [[1, 1, '', 'must be a mapping of keys (name, description, fabric or lan, kubernetes, cni, workloads); got the text "just some words"']],
  'empty.yaml': [[1, 1, '', 'the file is empty']],
  'comment-only.yaml': [[1, 1, '', 'the file is empty']],
};

for (const [fixture, want] of Object.entries(CASES)) {
  test(`bad lab ${fixture}`, async (t) => {
    assertProblems(t, await problems(fixture), want, fixture);
  });
}

test('the error message is one `file:line:col  path  message` line per problem, exit code 2', async (t) => {
  const err = await t.throwsAsync(loadLab(path.join(dir, 'sections.yaml')), { instanceOf: LabFileError });
  t.is(err!.exitCode, ExitCode.badInput);
  const lines = err!.message.split('\n');
  t.is(lines.length, 2);
  t.regex(lines[0], /^\S*bad-labs\/sections\.yaml:8:1 {2}lan {2}"fabric" and "lan" exclude each other/);
});

/** Any input at all ends in a LabFileError whose message has no stack frames. */
function rejects(t: import('ava').ExecutionContext, content: Buffer | string, part: string): void {
  const err = t.throws(() => parseLab(content, '/tmp/garbage.yaml'), { instanceOf: LabFileError });
  t.true(err!.message.includes(part), err!.message);
  t.notRegex(err!.message, /^\s*at |\(\S+:\d+:\d+\)/m, 'no stack frames');
}

test('garbage input never crashes', (t) => {
  rejects(t, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0x00]), 'not a text file');
  rejects(t, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xc3, 0x28, 0xff, 0x0a]), 'not UTF-8 text');
  rejects(t, '', 'the file is empty');
  rejects(t, '\n\n   \n', 'the file is empty');
  rejects(t, '---\n...\n', 'the file is empty');
  rejects(t, '42', 'got the number 42');
  rejects(t, 'a: [1, 2\nb: 3', 'YAML:');
  rejects(t, '"unterminated', 'YAML:');
  rejects(t, '\tname: x', 'YAML:');
  rejects(t, '? [a, b]\n: c\n', 'a key must be a plain word');
  rejects(t, 'a: &x [1]\n*x : 2\n', 'a key must be a plain word');
  rejects(t, 'lan: ' + '['.repeat(5000) + ']'.repeat(5000), 'YAML');
  rejects(t, 'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n', 'YAML: Excessive alias count');
  rejects(t, 'x'.repeat(2 << 20), 'far too large');
  // Printable junk: every byte value except NUL, decoded as Latin-1 so it is valid UTF-8.
  rejects(t, Buffer.from(Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join(''), 'utf8'), '');
});

test('several problems in one file are all reported, sorted by position', async (t) => {
  const all = await problems('names.yaml');
  t.true(all.length >= 7);
  const positions = all.map((p) => p.line * 1000 + p.col);
  t.deepEqual(positions, [...positions].sort((a, b) => a - b));
});

test('peering as-per-node: node ASNs (4200000000 + i + 1) are not a switch AS; peering is harmless in other modes', (t) => {
  const lab = (mode: string) => `name: per-node
fabric:
  addressing: { loopback: 172.16.255.0/24, p2p: 172.16.0.0/24 }
  spines: [{ name: spine1, asn: 4200000002 }]
  leaves: [{ name: leaf1, asn: 65101, rack: 10.0.101.0/24 }]
kubernetes:
  version: "1.30"
  podSubnet: 10.64.0.0/12
  serviceSubnet: 10.80.0.0/12
  nodes: [{ name: cp, leaf: leaf1, role: control-plane }, { name: w1, leaf: leaf1 }]
cni: { plugin: calico, calico: { mode: ${mode}, peering: as-per-node } }
`;
  const err = t.throws(() => parseLab(lab('bgp'), '/x/per-node.yaml'), { instanceOf: LabFileError });
  t.deepEqual(err!.problems.map((p) => [p.line, p.col, p.path]), [[4, 33, 'fabric.spines[0].asn']]);
  t.regex(err!.problems[0].message, /asn 4200000002 is given to node 1 by peering as-per-node \(nodes take 4200000001\.\.4200000002\)/);
  t.notThrows(() => parseLab(lab('vxlan'), '/x/per-node.yaml'));
});
