// Vagrantfile and provisioning (DESIGN 4, 7): golden files, determinism, the model's
// promises (tunnels, ports, NIC order, isolation), and the real checkers offline:
// `vagrant validate`, `ruby -c`, `shellcheck`, `bash -n`, ifupdown2's `ifup -s` -- each
// shown to reject a broken file, so that a pass means something.
import test from 'ava';
import { execa } from 'execa';
import { ifupCheckFile } from '../helpers/ifup.js';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import type { Lab } from '../../src/lab/types.js';
import { renderAll, writeArtifacts } from '../../src/render/index.js';
import { checkGolden, listFiles } from '../helpers/golden.js';
import { renderVagrant, buildVagrantModel } from '../../src/render/vagrant.js';
import { PORT_CEIL, PORT_FLOOR } from '../../src/render/vagrant-model.js';
import type { Artifact } from '../../src/render/types.js';
import { labsDir, repoRoot } from '../../src/paths.js';

const fixture = (name: string) => path.join(repoRoot, 'test/fixtures/labs', `${name}.yaml`);
const LABS = readdirSync(labsDir).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort()
  // The big dc-* labs render thousands of files: checked in test/render/scale.test.ts.
  .filter((l) => !l.startsWith('dc-'));
const ALL = [...LABS.map((l) => ({ name: l, ref: l })), ...['fabric-frr', 'fabric-only'].map((l) => ({ name: l, ref: fixture(l) }))];
const GOLDEN = ['calico-vxlan', 'calico-bgp', 'bridge-static'];
const refOf = (name: string) => ALL.find((l) => l.name === name)!.ref;

const plans = new Map<string, Promise<Plan>>();
const planOf = (name: string) => {
  if (!plans.has(name)) plans.set(name, loadLab(refOf(name)).then(plan));
  return plans.get(name)!;
};
const file = (arts: Artifact[], p: string) => {
  const a = arts.find((x) => x.path === p);
  if (!a) throw new Error(`not rendered: ${p}`);
  return a.content;
};

const tmp = mkdtempSync(path.join(tmpdir(), 'vagrant-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));

/** Every artifact of a lab written to its own folder (vagrant validate checks that provisioner files exist). */
const written = new Map<string, Promise<string>>();
function writtenLab(name: string, p?: Plan): Promise<string> {
  if (!written.has(name)) {
    written.set(name, (async () => {
      const dir = path.join(tmp, name);
      mkdirSync(dir, { recursive: true });
      await writeArtifacts(dir, renderAll(p ?? await planOf(name)));
      return dir;
    })());
  }
  return written.get(name)!;
}

// ---- golden files ------------------------------------------------------------------

for (const name of GOLDEN) {
  test(`${name}: Vagrantfile and provision/ match the golden files byte for byte`, async (t) => {
    checkGolden(t, name, renderVagrant(await planOf(name)), ['provision', 'Vagrantfile']);
  });
}

test('rendering is deterministic: same lab, byte-identical files', async (t) => {
  for (const { name, ref } of ALL) {
    const again = plan(await loadLab(ref));
    t.deepEqual(renderVagrant(again), renderVagrant(await planOf(name)), name);
  }
});

// ---- what the model promises ---------------------------------------------------------

test('every VM-to-VM cable is one mirrored UDP tunnel, on the lab loopback /24 and port block', async (t) => {
  for (const { name } of ALL) {
    const p = await planOf(name);
    const m = buildVagrantModel(p);
    const vms = new Set(m.machines.map((x) => x.name));
    const cables = p.links.filter((l) => (l.kind === 'fabric' || l.kind === 'access') && vms.has(l.a.device) && vms.has(l.b.device));
    const nics = m.machines.flatMap((x) => x.nics.map((n) => ({ machine: x.name, n, o: Object.fromEntries(n.options) })));
    const tunnels = nics.filter((x) => x.o.libvirt__tunnel_type === 'udp');
    t.is(tunnels.length, 2 * cables.length, `${name}: two tunnel ends per cable`);
    const prefix = m.tunnels.subnet.replace(/0\/24$/, '');
    for (const c of cables) {
      const a = tunnels.find((x) => x.machine === c.a.device && x.n.guestName === c.a.iface);
      const b = tunnels.find((x) => x.machine === c.b.device && x.n.guestName === c.b.iface);
      t.truthy(a && b, `${name}: ${c.a.device} ${c.a.iface} - ${c.b.device} ${c.b.iface}`);
      t.is(a!.o.libvirt__tunnel_ip, b!.o.libvirt__tunnel_local_ip);
      t.is(a!.o.libvirt__tunnel_port, b!.o.libvirt__tunnel_local_port);
      t.is(b!.o.libvirt__tunnel_port, a!.o.libvirt__tunnel_local_port);
    }
    for (const x of tunnels) {
      t.true(String(x.o.libvirt__tunnel_local_ip).startsWith(prefix), `${name}: ${x.machine} in ${m.tunnels.subnet}`);
      const port = x.o.libvirt__tunnel_local_port as number;
      t.true(port >= PORT_FLOOR && port <= PORT_CEIL && port >= m.tunnels.ports!.first && port <= m.tunnels.ports!.last, `${name}: port ${port}`);
    }
  }
});

test('labs get different tunnel /24s, so two can run side by side', async (t) => {
  const subnets = await Promise.all(ALL.map(async ({ name }) => buildVagrantModel(await planOf(name)).tunnels.subnet));
  t.is(new Set(subnets).size, subnets.length, subnets.join(' '));
});

test('switch NICs come in swp order; a node has one lab NIC, eth0, with the plan MAC', async (t) => {
  const p = await planOf('calico-vxlan');
  const m = buildVagrantModel(p);
  for (const sw of p.switches) t.deepEqual(m.machines.find((x) => x.name === sw.name)!.nics.map((n) => n.guestName), sw.ports.map((x) => x.name), sw.name);
  for (const n of p.nodes) {
    const nics = m.machines.find((x) => x.name === n.name)!.nics;
    t.deepEqual(nics.map((x) => x.guestName), ['eth0']);
    t.is(Object.fromEntries(nics[0].options).mac, n.mac);
  }
  const ifnames = file(renderVagrant(p), 'provision/devices/k8s-node-l2-1/ifnames');
  const node = p.nodes.find((n) => n.name === 'k8s-node-l2-1')!;
  t.regex(ifnames, new RegExp(`^${node.mac} eth0$`, 'm'));
  t.regex(ifnames, /^52(:[0-9a-f]{2}){5} mgmt0$/m);
});

test('a LAN is one isolated libvirt network, not a VM, and never routed to the host', async (t) => {
  for (const name of ['bridge-static', 'calico-ipip', 'kthw-static']) {
    const p = await planOf(name);
    const m = buildVagrantModel(p);
    t.deepEqual(m.machines.map((x) => x.name), p.nodes.map((n) => n.name), `${name}: nodes only`);
    for (const x of m.machines) {
      const o = Object.fromEntries(x.nics[0].options);
      t.like(o, { libvirt__network_name: `${name}-lan`, libvirt__forward_mode: 'veryisolated', libvirt__dhcp_enabled: false, auto_config: false });
      t.false('ip' in o, 'no ip: vagrant-libvirt would give the host an address in the LAN');
    }
    t.is(m.tunnels.ports, undefined);
  }
});

test('the LAN switch VM does not exist, fabric switches do, and every machine has its provisioners in order', async (t) => {
  const m = buildVagrantModel(await planOf('calico-bgp'));
  const leaf = m.machines.find((x) => x.name === 'leaf1')!;
  t.deepEqual(leaf.provisioners.map((x) => x.name), ['stage', 'upload-device', 'upload-fabric', 'ifnames', 'switch']);
  const cp = m.machines.find((x) => x.name === 'k8s-master-l1-1')!;
  t.deepEqual(cp.provisioners.map((x) => x.name), ['stage', 'upload-device', 'upload-kubernetes', 'upload-calico', 'upload-calico-install', 'ifnames', 'node-common', 'node-network', 'control-plane']);
  const cpArgs = (cp.provisioners.find((x) => x.name === 'control-plane') as { args: string[] }).args;
  t.true(cpArgs.includes('k8s-node-l2-2:rack=leaf2'));
  t.true(cpArgs.includes('k8s-node-l2-2,10.0.102.102/24,65102'), 'AS per rack: the leaf AS');
  const worker = m.machines.find((x) => x.name === 'k8s-node-l2-2')!;
  t.deepEqual((worker.provisioners.at(-1) as { args: string[] }).args, ['--name', 'k8s-node-l2-2', '--api-server', '10.0.101.100:6443']);
  const bridge = buildVagrantModel(await planOf('kthw-static'));
  const controller1 = bridge.machines.find((x) => x.name === 'controller-1')!;
  t.deepEqual(controller1.provisioners.slice(-2).map((x) => x.name), ['bridge-cni', 'join'], 'further control planes join');
  t.true((bridge.machines[0].provisioners.at(-1) as { args: string[] }).args.includes('--upload-certs'));
});

test('direct kernel boot settings reach the provider block and vagrant validate', async (t) => {
  const lab: Lab = await loadLab('calico-vxlan');
  lab.name = 'calico-vxlan-qemu';
  lab.libvirt = { ...lab.libvirt, driver: 'qemu', switchBox: 'local/frr-bookworm', kernel: '/var/cache/fabric-lab/boxes/vmlinuz', initrd: '/var/cache/fabric-lab/boxes/initrd.img', cmdline: 'root=/dev/vda rw console=ttyS0 net.ifnames=0' };
  const p = plan(lab);
  const vf = file(renderVagrant(p), 'Vagrantfile');
  for (const line of ['lv.driver = "qemu"', 'lv.kernel = "/var/cache/fabric-lab/boxes/vmlinuz"', 'lv.initrd = "/var/cache/fabric-lab/boxes/initrd.img"',
    'lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0"', 'lv.graphics_type = "none"', 'lv.video_type = "none"', 'm.vm.box = "local/frr-bookworm"']) {
    t.true(vf.includes(line), line);
  }
  const r = await execa('vagrant', ['validate'], { cwd: await writtenLab(lab.name, p), reject: false });
  t.is(r.exitCode, 0, r.stdout + r.stderr);
});

// ---- real checkers -----------------------------------------------------------------

for (const { name } of ALL) {
  test.serial(`${name}: vagrant validate accepts the Vagrantfile`, async (t) => {
    const dir = await writtenLab(name);
    const started = Date.now();
    const r = await execa('vagrant', ['validate'], { cwd: dir, reject: false });
    t.is(r.exitCode, 0, r.stdout + r.stderr);
    t.log(`vagrant validate: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  test(`${name}: ruby -c, shellcheck and bash -n accept the rendered files`, async (t) => {
    const dir = await writtenLab(name);
    t.is((await execa('ruby', ['-c', 'Vagrantfile'], { cwd: dir, reject: false })).exitCode, 0);
    const scripts = readdirSync(path.join(dir, 'provision')).filter((f) => f.endsWith('.sh')).map((f) => path.join('provision', f));
    t.true(scripts.length >= 3, scripts.join(' '));
    const sc = await execa('shellcheck', scripts, { cwd: dir, reject: false });
    t.is(sc.exitCode, 0, sc.stdout);
    const hooks = listFiles(path.join(dir, 'provision/devices')).filter((f) => f.endsWith('/dhclient-mgmt')).map((f) => path.join('provision/devices', f));
    if (hooks.length) t.is((await execa('shellcheck', hooks, { cwd: dir, reject: false })).exitCode, 0, 'dhclient hooks');
    for (const s of scripts) t.is((await execa('bash', ['-n', s], { cwd: dir, reject: false })).exitCode, 0, s);
  });
}

test('the checkers reject broken files (so their passes mean something)', async (t) => {
  const dir = path.join(await writtenLab('calico-vxlan'), '..', 'broken');
  mkdirSync(dir, { recursive: true });
  const src = path.join(await writtenLab('calico-vxlan'));
  await execa('cp', ['-r', `${src}/.`, dir]);
  const vf = readFileSync(path.join(dir, 'Vagrantfile'), 'utf8');
  writeFileSync(path.join(dir, 'Vagrantfile'), vf.replace('lv.memory = 768', 'lv.memmory = 768'));
  const r = await execa('vagrant', ['validate'], { cwd: dir, reject: false });
  t.not(r.exitCode, 0);
  t.regex(r.stdout + r.stderr, /memmory/);
  writeFileSync(path.join(dir, 'Vagrantfile'), vf.replace('config.vm.define "leaf1" do |m|', 'config.vm.define "leaf1" do |m'));
  t.not((await execa('ruby', ['-c', 'Vagrantfile'], { cwd: dir, reject: false })).exitCode, 0);
  writeFileSync(path.join(dir, 'bad.sh'), '#!/usr/bin/env bash\nset -euo pipefail\nrm -rf $1/x\n');
  t.not((await execa('shellcheck', ['bad.sh'], { cwd: dir, reject: false })).exitCode, 0);
  writeFileSync(path.join(dir, 'bad.sh'), '#!/usr/bin/env bash\nif true; then\n');
  t.not((await execa('bash', ['-n', 'bad.sh'], { cwd: dir, reject: false })).exitCode, 0);
});

test('node interfaces files pass ifupdown2; netplan, ifnames and Calico install files parse', async (t) => {
  mkdirSync('/run/network', { recursive: true });
  for (const { name } of ALL) {
    const arts = renderVagrant(await planOf(name));
    for (const a of arts.filter((x) => x.path.endsWith('/interfaces'))) {
      const f = path.join(tmp, `${name}-${a.path.replaceAll('/', '_')}`);
      writeFileSync(f, a.content);
      const r = await ifupCheckFile(f);
      t.is(r.exitCode, 0, `${a.path}: ${r.all}`);
      t.regex(a.content, /^iface mgmt0 inet dhcp$/m);
    }
    for (const a of arts.filter((x) => x.path.endsWith('.yaml'))) {
      for (const doc of parseAllDocuments(a.content)) t.deepEqual(doc.errors, [], a.path);
    }
    for (const a of arts.filter((x) => x.path.endsWith('/ifnames'))) {
      const lines = a.content.split('\n').filter((l) => l && !l.startsWith('#'));
      for (const l of lines) t.regex(l, /^[0-9a-f]{2}(:[0-9a-f]{2}){5} [a-z][a-z0-9]*$/, a.path);
    }
  }
  const bad = path.join(tmp, 'bad-interfaces');
  writeFileSync(bad, 'auto eth0\niface eth0 inet static\n    address 10.0.0.400/24\n');
  t.not((await execa('ifup', ['-a', '-s', '-i', bad], { reject: false })).exitCode, 0);
});

test('Calico install: backend and probes follow the mode', async (t) => {
  const vx = renderVagrant(await planOf('calico-vxlan'));
  t.regex(file(vx, 'provision/calico-install/calico-config.yaml'), /calico_backend: "vxlan"/);
  t.regex(file(vx, 'provision/calico-install/calico-node.yaml'), /-felix-ready/);
  t.notRegex(file(vx, 'provision/calico-install/calico-node.yaml'), /bird/);
  const bgp = renderVagrant(await planOf('calico-bgp'));
  t.regex(file(bgp, 'provision/calico-install/calico-config.yaml'), /calico_backend: "bird"/);
  t.notRegex(file(bgp, 'provision/calico-install/calico-node.yaml'), /Probe/);
  t.false(renderVagrant(await planOf('bridge-static')).some((a) => a.path.includes('calico')));
});
