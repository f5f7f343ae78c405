// The checker of libvirt__* options and the rest of the Vagrant model: every lab's model
// is sound, and each rule is shown to catch the mistake it is there for.
import test from 'ava';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { buildVagrantModel, rubyLiteral } from '../../src/render/vagrant.js';
import type { VagrantModel } from '../../src/render/vagrant.js';
import type { VagrantNic, RubyValue } from '../../src/render/vagrant-model.js';
import { checkVagrantModel, assertVagrantModel } from '../../src/render/vagrant-check.js';
import { labsDir, repoRoot } from '../../src/paths.js';

const LABS = [
  ...readdirSync(labsDir).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')),
  ...['fabric-frr', 'fabric-only'].map((l) => path.join(repoRoot, 'test/fixtures/labs', `${l}.yaml`)),
];
const modelOf = async (ref: string) => buildVagrantModel(plan(await loadLab(ref)));
const fabric = modelOf('calico-vxlan');
const lan = modelOf('bridge-static');

/** A copy of the model with one change; the checker must name the problem. */
async function broken(base: Promise<VagrantModel>, change: (m: VagrantModel) => void): Promise<string[]> {
  const m = structuredClone(await base);
  change(m);
  return checkVagrantModel(m);
}
const nic = (m: VagrantModel, machine: string, i = 0): VagrantNic => m.machines.find((x) => x.name === machine)!.nics[i];
function set(n: VagrantNic, key: string, value: RubyValue | undefined): void {
  const at = n.options.findIndex(([k]) => k === key);
  if (value === undefined) n.options.splice(at, 1);
  else if (at < 0) n.options.push([key, value]);
  else n.options[at] = [key, value];
}
const get = (n: VagrantNic, key: string) => n.options.find(([k]) => k === key)?.[1];

for (const ref of LABS) {
  test(`${path.basename(ref, '.yaml')}: the model is sound`, async (t) => {
    const m = await modelOf(ref);
    t.deepEqual(checkVagrantModel(m), []);
    t.notThrows(() => assertVagrantModel(m));
  });
}

test('rule: option names come from vagrant-libvirt 0.11', async (t) => {
  const p = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'libvirt__tunnel_typ', 'udp'); });
  t.true(p.some((x) => x.includes('unknown network option libvirt__tunnel_typ')), p.join('\n'));
  const q = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'macaddress', '52:00:00:00:00:01'); });
  t.true(q.some((x) => x.includes('unknown network option macaddress')), q.join('\n'));
});

test('rule: tunnels are udp', async (t) => {
  const p = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'libvirt__tunnel_type', 'mcast'); });
  t.true(p.some((x) => x.includes('must be "udp"')), p.join('\n'));
});

test('rule: tunnel addresses are in 127.0.0.0/8', async (t) => {
  const p = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'libvirt__tunnel_local_ip', '10.0.0.1'); });
  t.true(p.some((x) => x.includes('libvirt__tunnel_local_ip 10.0.0.1 is not an address in 127.0.0.0/8')), p.join('\n'));
  const q = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'libvirt__tunnel_ip', '127.0.0.256'); });
  t.true(q.some((x) => x.includes('libvirt__tunnel_ip 127.0.0.256')), q.join('\n'));
});

test('rule: ports are 1024..65535', async (t) => {
  for (const port of [80, 65536, 2000.5]) {
    const p = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'libvirt__tunnel_local_port', port); });
    t.true(p.some((x) => x.includes(`libvirt__tunnel_local_port ${port} is not a port`)), p.join('\n'));
  }
  const q = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'libvirt__tunnel_port', undefined); });
  t.true(q.some((x) => x.includes('libvirt__tunnel_port undefined')), q.join('\n'));
});

test('rule: local ports are unique in the lab', async (t) => {
  // Same port, different address: a unique endpoint, still a reused port.
  const p = await broken(fabric, (m) => {
    const a = nic(m, 'spine-sw1');
    const b = nic(m, 'leaf2', 1);
    set(b, 'libvirt__tunnel_local_port', get(a, 'libvirt__tunnel_local_port'));
  });
  t.true(p.some((x) => /local port \d+ is also spine-sw1 swp1's/.test(x)), p.join('\n'));
  const q = await broken(fabric, (m) => {
    const a = nic(m, 'spine-sw1');
    const b = nic(m, 'spine-sw1', 1);
    set(b, 'libvirt__tunnel_local_port', get(a, 'libvirt__tunnel_local_port'));
  });
  t.true(q.some((x) => x.includes("local endpoint") && x.includes("is also spine-sw1 swp1's")), q.join('\n'));
});

test('rule: each tunnel end is mirrored by its peer', async (t) => {
  const p = await broken(fabric, (m) => {
    const n = nic(m, 'leaf1');
    set(n, 'libvirt__tunnel_port', (get(n, 'libvirt__tunnel_port') as number) + 100);
  });
  t.true(p.some((x) => x.startsWith('leaf1 swp1: sends to') && x.includes('where no NIC listens')), p.join('\n'));
  t.true(p.some((x) => x.startsWith('spine-sw1 swp1: sends to leaf1 swp1') && x.includes('instead of back')), p.join('\n'));
});

test('rule: every NIC has its own unicast MAC', async (t) => {
  const p = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'mac', get(nic(m, 'leaf2'), 'mac')); });
  t.true(p.some((x) => x.includes('is already used by leaf1 swp1')), p.join('\n'));
  const q = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'mac', '01:00:5e:00:00:01'); });
  t.true(q.some((x) => x.includes('is multicast')), q.join('\n'));
  const r = await broken(fabric, (m) => { m.machines[0].mgmtMac = 'not-a-mac'; });
  t.true(r.some((x) => x.includes('management NIC: MAC not-a-mac')), r.join('\n'));
  const s = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'mac', undefined); });
  t.true(s.some((x) => x.includes('needs a fixed mac')), s.join('\n'));
});

test('rule: Vagrant never configures a lab NIC', async (t) => {
  const p = await broken(fabric, (m) => { set(nic(m, 'leaf1'), 'auto_config', true); });
  t.true(p.some((x) => x.includes('auto_config must be false')), p.join('\n'));
});

test('rule: a LAN network is isolated from the host', async (t) => {
  const p = await broken(lan, (m) => { set(nic(m, 'k8s-worker'), 'libvirt__forward_mode', 'nat'); });
  t.true(p.some((x) => x.includes('forward_mode nat would route the network to the host')), p.join('\n'));
  const q = await broken(lan, (m) => { set(nic(m, 'k8s-worker'), 'libvirt__dhcp_enabled', true); });
  t.true(q.some((x) => x.includes('libvirt__dhcp_enabled must be false')), q.join('\n'));
  const r = await broken(lan, (m) => { set(nic(m, 'k8s-worker'), 'libvirt__host_ip', '10.138.0.1'); });
  t.true(r.some((x) => x.includes('libvirt__host_ip would give the host an address')), r.join('\n'));
  const s = await broken(lan, (m) => { set(nic(m, 'k8s-worker'), 'libvirt__tunnel_port', 20000); });
  t.true(s.some((x) => x.includes('libvirt__tunnel_port without libvirt__tunnel_type')), s.join('\n'));
  const u = await broken(lan, (m) => { set(nic(m, 'k8s-worker'), 'libvirt__network_name', undefined); });
  t.true(u.some((x) => x.includes('neither a tunnel nor a network')), u.join('\n'));
});

test('rule: shell provisioner arguments are plain words', async (t) => {
  for (const arg of ['a b', 'x"; rm -rf /', '$(id)', '']) {
    const p = await broken(fabric, (m) => {
      const sh = m.machines[0].provisioners.find((x) => x.type === 'shell' && x.args.length)!;
      if (sh.type === 'shell') sh.args.push(arg);
    });
    t.true(p.some((x) => x.includes(`argument ${JSON.stringify(arg)}`)), `${JSON.stringify(arg)}: ${p.join('\n')}`);
  }
});

test('rule: direct kernel boot paths are absolute, and initrd/cmd_line need a kernel', async (t) => {
  const p = await broken(fabric, (m) => { m.provider.kernel = 'boxes/vmlinuz'; });
  t.true(p.some((x) => x.includes('provider kernel must be an absolute path')), p.join('\n'));
  const q = await broken(fabric, (m) => { m.provider.cmdLine = 'root=/dev/vda'; });
  t.true(q.some((x) => x.includes('need a kernel')), q.join('\n'));
});

test('rule: machine names, NIC names and provisioner names are unique', async (t) => {
  const p = await broken(fabric, (m) => { m.machines[1].name = m.machines[0].name; });
  t.true(p.some((x) => x.includes('is defined twice')), p.join('\n'));
  const q = await broken(fabric, (m) => { nic(m, 'leaf1', 1).guestName = 'swp1'; });
  t.true(q.some((x) => x.includes('two NICs with this name')), q.join('\n'));
  const r = await broken(fabric, (m) => { m.machines[0].provisioners.push(m.machines[0].provisioners[0]); });
  t.true(r.some((x) => x.includes('appears twice')), r.join('\n'));
  const s = await broken(fabric, (m) => { m.machines[0].name = 'Spine_1'; });
  t.true(s.some((x) => x.includes('not a valid hostname')), s.join('\n'));
});

test('assertVagrantModel throws with every problem listed', async (t) => {
  const m = structuredClone(await fabric);
  set(nic(m, 'leaf1'), 'libvirt__tunnel_type', 'tcp');
  set(nic(m, 'leaf2'), 'auto_config', true);
  const e = t.throws(() => assertVagrantModel(m));
  t.regex(e!.message, /leaf1 swp1: libvirt__tunnel_type must be "udp"/);
  t.regex(e!.message, /leaf2 swp1: auto_config must be false/);
});

test('Ruby literals: quotes, backslashes and interpolation are escaped; control characters refused', (t) => {
  t.is(rubyLiteral('plain'), '"plain"');
  t.is(rubyLiteral('a"b\\c#{d}'), '"a\\"b\\\\c\\#{d}"');
  t.is(rubyLiteral(42), '42');
  t.is(rubyLiteral(false), 'false');
  t.throws(() => rubyLiteral('a\nb'));
  t.throws(() => rubyLiteral(1.5));
});
