// The shipped labs load with their defaults; missing files, list, speed.
import test from 'ava';
import { mkdtemp, writeFile, mkdir, copyFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadLab, parseLab, resolveLabFile } from '../../src/lab/load.js';
import { listLabs } from '../../src/lab/list.js';
import { ExitCode, LabError, LabFileError } from '../../src/errors.js';
import { labsDir } from '../../src/paths.js';

const SHIPPED = ['bridge-static', 'calico-bgp', 'calico-ipip', 'calico-vxlan', 'dc-1024', 'dc-256', 'dc-256-vxlan', 'kthw-static', 'netpol', 'rfc7938'];

for (const name of SHIPPED) {
  test(`labs/${name}.yaml loads`, async (t) => {
    const lab = await loadLab(name);
    t.is(lab.name, name);
    t.is(lab.file, path.join(labsDir, `${name}.yaml`));
    t.truthy(lab.description);
    t.not(!!lab.fabric, !!lab.lan);
  });
}

test('defaults are applied (calico-vxlan)', async (t) => {
  const lab = await loadLab('calico-vxlan');
  t.deepEqual(lab.cni, {
    plugin: 'calico',
    calico: { mode: 'vxlan', blockSize: 26, vxlanVNI: 4096, vxlanPort: 4789, natOutgoing: true, asNumber: 64512, peering: 'as-per-rack', routesToNodes: 'all' },
  });
  t.is(lab.fabric!.os, 'cumulus');
  const nodes = lab.kubernetes!.nodes;
  t.deepEqual(nodes[0], { name: 'k8s-master-l1-1', leaf: 'leaf1', role: 'control-plane', ip: '10.0.101.100' });
  t.deepEqual(nodes[1], { name: 'k8s-node-l1-1', leaf: 'leaf1', role: 'worker' }, 'no ip: the plan allocates it');
  t.deepEqual(lab.libvirt, {
    driver: 'kvm', switchBox: 'CumulusCommunity/cumulus-vx', nodeBox: 'generic/ubuntu2204',
    switchMemory: 768, switchCpus: 1, nodeMemory: 2048, nodeCpus: 2, calicoVersion: '3.28.2',
  });
});

test('bridge defaults, workload defaults, LAN switch box, kernel path relative to the lab file', (t) => {
  const lab = parseLab(`name: mini
lan: { subnet: 10.240.0.0/24, gateway: 10.240.0.1 }
kubernetes:
  version: "1.30"
  podSubnet: 10.200.0.0/16
  serviceSubnet: 10.32.0.0/24
  nodes: [{ name: cp, role: control-plane }]
cni: { plugin: bridge }
workloads: [{ name: web }]
libvirt: { driver: qemu, kernel: boot/vmlinuz, cmdline: "root=/dev/vda rw" }
`, '/srv/labs/mini.yaml');
  t.deepEqual(lab.cni, { plugin: 'bridge', bridge: { bridge: 'cni0', nodeCidrBits: 24, masquerade: true } });
  t.deepEqual(lab.workloads, [{ name: 'web', namespace: 'default', replicas: 1, labels: {}, ports: [{ name: 'http', port: 80 }], service: { type: 'ClusterIP' } }]);
  t.is(lab.description, '');
  t.is(lab.libvirt.switchBox, 'debian/bookworm64');
  t.is(lab.libvirt.driver, 'qemu');
  t.is(lab.libvirt.kernel, '/srv/labs/boot/vmlinuz');
  t.is(lab.libvirt.cmdline, 'root=/dev/vda rw');
  t.is(lab.libvirt.initrd, undefined);
});

test('a fabric-only lab (no kubernetes, no cni) loads; frr switches get the debian box', (t) => {
  const lab = parseLab(`name: fabric-only
fabric:
  os: frr
  addressing: { loopback: 172.16.255.0/24, p2p: 172.16.0.0/24 }
  spines: [{ name: s1, asn: 65001 }]
  leaves: [{ name: l1, asn: 65101, rack: 10.0.101.0/24 }]
`, '/x/fabric-only.yaml');
  t.is(lab.kubernetes, undefined);
  t.is(lab.cni, undefined);
  t.deepEqual(lab.workloads, []);
  t.is(lab.libvirt.switchBox, 'debian/bookworm64');
});

test('resolveLabFile: names live in labs/, anything path-like is a path', (t) => {
  t.is(resolveLabFile('calico-bgp'), path.join(labsDir, 'calico-bgp.yaml'));
  t.is(resolveLabFile('./x.yaml'), path.resolve('x.yaml'));
  t.is(resolveLabFile('other.yml'), path.resolve('other.yml'));
  t.is(resolveLabFile('/abs/lab'), '/abs/lab');
});

test('a missing lab says which file and lists the available labs (exit 2)', async (t) => {
  const err = await t.throwsAsync(loadLab('calico-vxlann'), { instanceOf: LabError });
  t.is(err!.exitCode, ExitCode.badInput);
  t.false(err instanceof LabFileError);
  t.true(err!.message.includes(path.join(labsDir, 'calico-vxlann.yaml')));
  t.true(err!.message.includes('did you mean calico-vxlan?'));
  t.true(err!.message.includes(`available labs: ${SHIPPED.join(', ')}`));
});

test('a directory is not a lab file (exit 2)', async (t) => {
  const err = await t.throwsAsync(loadLab(labsDir + '/'), { instanceOf: LabError });
  t.is(err!.exitCode, ExitCode.badInput);
  t.regex(err!.message, /is a directory/);
});

test('listLabs summarizes every shipped lab', async (t) => {
  const all = await listLabs();
  t.deepEqual(all.map((l) => l.name), SHIPPED);
  const vxlan = all.find((l) => l.name === 'calico-vxlan');
  t.like(vxlan, { ok: true, underlay: 'fabric', networking: 'vxlan', counts: { spines: 2, leaves: 2, nodes: 5, pods: 4 } });
  t.like(all.find((l) => l.name === 'kthw-static'), { ok: true, underlay: 'lan', networking: 'bridge', counts: { spines: 0, leaves: 0, nodes: 6, pods: 3 } });
  t.like(all.find((l) => l.name === 'calico-ipip'), { networking: 'ipip' });
  t.like(all.find((l) => l.name === 'calico-bgp'), { networking: 'bgp' });
});

test('listLabs reports a broken lab in its own row and keeps the others', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'labs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await copyFile(path.join(labsDir, 'calico-ipip.yaml'), path.join(dir, 'calico-ipip.yaml'));
  await writeFile(path.join(dir, 'broken.yaml'), 'name: broken\nlan: { subnet: 10.0.0.0/24, gatway: 10.0.0.1 }\n');
  await writeFile(path.join(dir, 'binary.yaml'), Buffer.from([0x00, 0xff, 0x13]));
  await writeFile(path.join(dir, 'fabric-only.yaml'), `name: fabric-only
fabric:
  addressing: { loopback: 172.16.255.0/24, p2p: 172.16.0.0/24 }
  spines: [{ name: s1, asn: 65001 }]
  leaves: [{ name: l1, asn: 65101, rack: 10.0.101.0/24 }]
`);
  await mkdir(path.join(dir, 'not-a-lab.d'));
  await writeFile(path.join(dir, 'notes.txt'), 'not a lab');
  const all = await listLabs(dir);
  t.deepEqual(all.map((l) => [l.name, l.ok]), [['binary', false], ['broken', false], ['calico-ipip', true], ['fabric-only', true]]);
  const broken = all[1];
  t.true(!broken.ok && broken.error.includes('lan.gatway  unknown key "gatway" (did you mean "gateway"?); allowed: subnet, gateway'));
  t.like(all[3], { networking: 'none', underlay: 'fabric', counts: { spines: 1, leaves: 1, nodes: 0, pods: 0 } });
});
