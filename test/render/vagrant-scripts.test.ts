// The provisioning scripts that change a VM's network, run for real in throw-away network
// namespaces (root): the NIC renamer swaps two names while one NIC is up and keeps its
// address, as node-network.sh does with eth0/mgmt0; the bridge-CNI dataplane adds its
// routes and iptables rules once, however often it runs.
import test from 'ava';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { renderVagrant } from '../../src/render/vagrant.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'vagrant-scripts-'));
const tag = `vgt${process.pid % 100000}`;
const namespaces: string[] = [];
test.after.always(async () => {
  for (const ns of namespaces) await execa('ip', ['netns', 'del', ns], { reject: false });
  rmSync(tmp, { recursive: true, force: true });
});

async function netns(suffix: string): Promise<string> {
  const ns = `${tag}-${suffix}`;
  await execa('ip', ['netns', 'add', ns]);
  namespaces.push(ns);
  await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

async function script(name: string): Promise<string> {
  const arts = renderVagrant(plan(await loadLab('bridge-static')));
  const f = path.join(tmp, name);
  writeFileSync(f, arts.find((a) => a.path === `provision/${name}`)!.content, { mode: 0o755 });
  return f;
}

const ip = (ns: string, ...args: string[]) => execa('ip', ['-n', ns, ...args]);
const linkByMac = async (ns: string, mac: string) => {
  const links = JSON.parse((await ip(ns, '-j', 'link', 'show')).stdout) as { ifname: string; address: string; flags: string[] }[];
  return links.find((l) => l.address === mac);
};

test.serial('ifnames live: swaps two NIC names by MAC; the NIC that was up stays up with its address', async (t) => {
  const ifnames = await script('ifnames.sh');
  const vm = await netns('vm');
  const peer = await netns('peer');
  // Names that exist nowhere else, so the renamer's dhclient/lease handling cannot touch the host.
  const macMgmt = '02:fa:00:00:00:01';
  const macLab = '02:fa:00:00:00:02';
  await ip(peer, 'link', 'add', 'pm', 'type', 'veth', 'peer', 'name', 'fta0', 'netns', vm);
  await ip(peer, 'link', 'add', 'pl', 'type', 'veth', 'peer', 'name', 'fta1', 'netns', vm);
  await ip(vm, 'link', 'set', 'fta0', 'address', macMgmt);
  await ip(vm, 'link', 'set', 'fta1', 'address', macLab);
  await ip(vm, 'address', 'add', '10.199.0.2/24', 'dev', 'fta0');
  await ip(vm, 'link', 'set', 'fta0', 'up');
  await ip(peer, 'address', 'add', '10.199.0.1/24', 'dev', 'pm');
  await ip(peer, 'link', 'set', 'pm', 'up');
  // Like a node: the management NIC (first, up) takes the other name, the lab NIC takes fta0.
  const map = path.join(tmp, 'ifnames');
  writeFileSync(map, `# test map\n${macMgmt} fta1\n${macLab} fta0\n`);
  const env = { FABRIC_LAB_IFNAMES_MAP: map };

  const r = await execa('ip', ['netns', 'exec', vm, ifnames, 'live'], { env, reject: false });
  t.is(r.exitCode, 0, r.stderr);
  const mgmt = await linkByMac(vm, macMgmt);
  const lab = await linkByMac(vm, macLab);
  t.is(mgmt?.ifname, 'fta1');
  t.is(lab?.ifname, 'fta0');
  t.true(mgmt!.flags.includes('UP'), 'back up');
  t.regex((await ip(vm, '-4', 'address', 'show', 'dev', 'fta1')).stdout, /10\.199\.0\.2\/24/);
  t.is((await execa('ip', ['netns', 'exec', vm, 'ping', '-c1', '-W2', '10.199.0.1'], { reject: false })).exitCode, 0, 'reachable again');

  const again = await execa('ip', ['netns', 'exec', vm, ifnames, 'live'], { env, reject: false });
  t.is(again.exitCode, 0, again.stderr);
  t.notRegex(again.stderr, /->/, 'nothing left to rename');

  // A wanted name held by a NIC outside the map: refused before anything is renamed.
  writeFileSync(map, `${macLab} fta1\n`);
  const refused = await execa('ip', ['netns', 'exec', vm, ifnames, 'live'], { env, reject: false });
  t.not(refused.exitCode, 0);
  t.regex(refused.stderr, /fta1 is taken by a NIC that is not in/);
  t.is((await linkByMac(vm, macLab))?.ifname, 'fta0');

  writeFileSync(map, `${macLab} fta1 extra\n`);
  t.not((await execa('ip', ['netns', 'exec', vm, ifnames, 'live'], { env, reject: false })).exitCode, 0, 'malformed map');
});

test.serial('bridge-cni apply: pod routes and iptables rules, once however often it runs', async (t) => {
  const bridgeCni = await script('bridge-cni.sh');
  const node = await netns('node');
  const other = await netns('other');
  await ip(other, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node);
  await ip(node, 'address', 'add', '10.138.0.2/24', 'dev', 'eth0');
  await ip(node, 'link', 'set', 'eth0', 'up');
  await ip(other, 'address', 'add', '10.138.0.3/24', 'dev', 'eth0');
  await ip(other, 'link', 'set', 'eth0', 'up');
  const conf = path.join(tmp, 'bridge-cni.conf');
  writeFileSync(conf, renderVagrant(plan(await loadLab('bridge-static'))).find((a) => a.path === 'provision/devices/k8s-master/bridge-cni.conf')!.content);
  const env = { FABRIC_LAB_BRIDGE_CNI_CONF: conf };

  for (let run = 0; run < 2; run++) {
    const r = await execa('ip', ['netns', 'exec', node, bridgeCni, 'apply'], { env, reject: false });
    t.is(r.exitCode, 0, r.stderr);
  }
  t.regex((await ip(node, 'route', 'show', '10.244.1.0/24')).stdout, /10\.244\.1\.0\/24 via 10\.138\.0\.3 dev eth0/);
  const rules = async (table: string) => (await execa('ip', ['netns', 'exec', node, 'iptables', '-w', '-t', table, '-S'])).stdout;
  const filter = await rules('filter');
  t.is(filter.match(/^-A FORWARD -s 10\.244\.0\.0\/16 -j ACCEPT$/gm)?.length, 1, filter);
  t.is(filter.match(/^-A FORWARD -d 10\.244\.0\.0\/16 -j ACCEPT$/gm)?.length, 1, filter);
  const nat = await rules('nat');
  t.is(nat.match(/^-A POSTROUTING -s 10\.244\.0\.0\/16 ! -d 10\.244\.0\.0\/16 -j MASQUERADE$/gm)?.length, 1, nat);

  writeFileSync(conf, 'pod-subnet 10.244.0.0/16\nmasquerade yes\nroute 10.244.1.0/24 10.138.0.3; reboot\n');
  const bad = await execa('ip', ['netns', 'exec', node, bridgeCni, 'apply'], { env, reject: false });
  t.not(bad.exitCode, 0);
  t.regex(bad.stderr, /unexpected|bad route/);
});
