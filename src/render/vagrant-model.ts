// The typed model behind the Vagrantfile: VMs, their NICs with the exact vagrant-libvirt
// options that get rendered, their provisioners, and the per-device data files the
// provisioning scripts read. Pure and deterministic: every port, address and MAC comes
// from the plan and a hash of the lab name.
import { createHash } from 'node:crypto';
import type { Plan, KNode, Switch } from '../plan/types.js';
import type { LibvirtDriver, SwitchOs } from '../lab/types.js';
import { hashedMac } from '../plan/naming.js';
import { remoteBlocks } from '../plan/cluster.js';
import { API_SERVER_PORT, kubernetesVersion } from './k8s/kubeadm-objects.js';

export type RubyValue = string | number | boolean;

/** One `m.vm.network :private_network` of a VM: a lab NIC, in the order the guest sees it. */
export interface VagrantNic {
  /** The name provisioning gives it (swpN on switches, eth0 on nodes). */
  guestName: string;
  comment: string;
  /** Options exactly as rendered, in order (`mac`, `auto_config`, `libvirt__*`). */
  options: [string, RubyValue][];
}

export type Provisioner =
  | { type: 'file'; name: string; source: string; destination: string }
  | { type: 'shell'; name: string; path: string; args: string[] };

export interface VagrantMachine {
  name: string;
  role: 'switch' | 'node';
  switchOs?: SwitchOs;
  summary: string;
  box: string;
  memory: number;
  cpus: number;
  /** Fixed MAC of the management NIC (vagrant-libvirt's management_network_mac). */
  mgmtMac: string;
  nics: VagrantNic[];
  provisioners: Provisioner[];
}

/** A rendered data file under provision/ (template under vagrant/). */
export interface DataFile { path: string; template: string; data: Record<string, unknown> }

export interface VagrantModel {
  lab: string;
  /** libvirt domain names are prefix + machine name. */
  prefix: string;
  bootTimeout: number;
  provider: { driver: LibvirtDriver; kernel?: string; initrd?: string; cmdLine?: string };
  /** The lab's own loopback /24 for tunnel endpoints, and its port block (absent without links). */
  tunnels: { subnet: string; ports?: { first: number; last: number } };
  /** Name of the isolated libvirt network that stands in for the LAN switch. */
  lanNetwork?: string;
  machines: VagrantMachine[];
  files: DataFile[];
}

/** Generic scripts (vagrant/provision/NAME.hbs -> provision/NAME). */
export const SCRIPTS = ['stage.sh', 'ifnames.sh', 'switch.sh', 'node-common.sh', 'node-network.sh', 'bridge-cni.sh', 'control-plane.sh', 'join.sh'] as const;
/** Where the file provisioners put a VM's files (emptied by stage.sh on every run). */
export const UPLOAD_DIR = '/var/lib/fabric-lab/upload';
/**
 * Tunnel ports live in [PORT_FLOOR, PORT_CEIL]: unprivileged, and below Linux's ephemeral
 * range (32768-60999), so no socket the kernel binds on its own can hold one.
 */
export const PORT_FLOOR = 10000;
export const PORT_CEIL = 32767;
const BOOT_TIMEOUT = 900;
const MGMT_NODE = 'mgmt0';
const MGMT_SWITCH = 'eth0';

interface End { device: string; iface: string }
interface Tunnel { local: { ip: string; port: number }; remote: { ip: string; port: number }; peer: End }

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The lab's tunnel endpoints: loopback 127.X.Y.0/24 and a port block, both from a hash of
 * the lab name. Two labs collide only if both their /24 and their port blocks do.
 */
export function tunnelSpace(lab: string, portsNeeded: number): { prefix: string; firstPort: number } {
  const h = digest(`fabric-lab udp tunnels ${lab}`);
  const room = PORT_CEIL - PORT_FLOOR + 1 - portsNeeded;
  if (room < 1) throw new Error(`lab ${lab} needs ${portsNeeded} tunnel ports, more than the ${PORT_CEIL - PORT_FLOOR + 1} available`);
  return { prefix: `127.${1 + (h[0] % 254)}.${h[1]}`, firstPort: PORT_FLOOR + (((h[2] << 16) | (h[3] << 8) | h[4]) % room) };
}

export function buildVagrantModel(plan: Plan): VagrantModel {
  const lab = plan.name;
  const lv = plan.lab.libvirt;
  const vmSwitches = plan.switches.filter((s) => s.kind !== 'lan-switch');
  const lanSwitch = plan.switches.find((s) => s.kind === 'lan-switch');
  const vms = [...vmSwitches.map((s) => s.name), ...plan.nodes.map((n) => n.name)];
  // More than a /24 holds: the lab's whole 127.X.0.0/16, 254 VMs per /24.
  if (vms.length > 254 * 256) throw new Error(`lab ${lab} has ${vms.length} VMs; the tunnel /16 holds ${254 * 256}`);
  const index = new Map(vms.map((v, k) => [v, k]));
  const isVm = new Set(vms);
  const cables = plan.links.filter((l) => (l.kind === 'fabric' || l.kind === 'access') && isVm.has(l.a.device) && isVm.has(l.b.device));
  const space = tunnelSpace(lab, 2 * cables.length);
  const wide = vms.length > 254;
  const x = space.prefix.split('.')[1];
  const ipOf = (device: string) => {
    const k = index.get(device)!;
    return wide ? `127.${x}.${Math.floor(k / 254)}.${(k % 254) + 1}` : `${space.prefix}.${k + 1}`;
  };

  // Each cable: the a end listens on port first+2i, the b end on first+2i+1; each sends to the other.
  const tunnels = new Map<string, Tunnel>();
  cables.forEach((l, i) => {
    const a = { ip: ipOf(l.a.device), port: space.firstPort + 2 * i };
    const b = { ip: ipOf(l.b.device), port: space.firstPort + 2 * i + 1 };
    tunnels.set(`${l.a.device}/${l.a.iface}`, { local: a, remote: b, peer: l.b });
    tunnels.set(`${l.b.device}/${l.b.iface}`, { local: b, remote: a, peer: l.a });
  });
  const lanNetwork = lanSwitch ? `${lab}-lan` : undefined;

  const nic = (device: string, iface: string, mac: string): VagrantNic => {
    const t = tunnels.get(`${device}/${iface}`);
    if (t) {
      return {
        guestName: iface,
        comment: `to ${t.peer.device} ${t.peer.iface}`,
        options: [
          ['mac', mac], ['auto_config', false], ['libvirt__tunnel_type', 'udp'],
          ['libvirt__tunnel_local_ip', t.local.ip], ['libvirt__tunnel_local_port', t.local.port],
          ['libvirt__tunnel_ip', t.remote.ip], ['libvirt__tunnel_port', t.remote.port],
        ],
      };
    }
    if (lanNetwork) {
      return {
        guestName: iface,
        comment: `on the LAN ${plan.lab.lan!.subnet} (libvirt network ${lanNetwork})`,
        options: [
          ['mac', mac], ['auto_config', false], ['libvirt__network_name', lanNetwork],
          ['libvirt__forward_mode', 'veryisolated'], ['libvirt__dhcp_enabled', false],
        ],
      };
    }
    throw new Error(`${device} ${iface} is cabled to nothing`);
  };

  const files: DataFile[] = [];
  const device = (name: string, file: string, template: string, data: Record<string, unknown>) =>
    files.push({ path: `provision/devices/${name}/${file}`, template: `vagrant/provision/devices/${template}.hbs`, data: { device: name, ...data } });

  const switches = vmSwitches.map((sw): VagrantMachine => {
    const nics = sw.ports.map((p) => nic(sw.name, p.name, hashedMac(0x52, `${lab}/${sw.name}/${p.name}`)));
    const mgmtMac = hashedMac(0x52, `${lab}/${sw.name}/mgmt`);
    device(sw.name, 'ifnames', 'ifnames', { entries: nics.map((n) => ({ mac: macOf(n), name: n.guestName, comment: n.comment })) });
    // Cumulus keeps eth0 in its management VRF; on plain Debian its DHCP default route would
    // lead lab traffic to the host, so it is dropped.
    if (sw.os === 'frr') device(sw.name, 'dhclient-mgmt', 'dhclient-mgmt', { iface: MGMT_SWITCH });
    return {
      name: sw.name, role: 'switch', switchOs: sw.os, summary: switchSummary(sw), box: lv.switchBox,
      memory: lv.switchMemory, cpus: lv.switchCpus, mgmtMac, nics,
      provisioners: [
        ...stage(sw.name),
        upload('upload-fabric', `fabric-configs/${sw.name}`, 'fabric'),
        shell('ifnames', 'ifnames.sh', ['install']),
        shell('switch', 'switch.sh', ['--name', sw.name, '--os', sw.os]),
      ],
    };
  });

  const nodes = plan.nodes.map((n): VagrantMachine => {
    const eth0 = nic(n.name, n.iface, n.mac);
    const mgmtMac = hashedMac(0x52, `${lab}/${n.name}/mgmt`);
    const uplink = plan.switches.find((s) => s.name === n.attachedTo)?.ports.find((p) => p.peer === n.name);
    device(n.name, 'ifnames', 'ifnames', {
      entries: [
        { mac: mgmtMac, name: MGMT_NODE, comment: 'management (vagrant ssh)' },
        { mac: n.mac, name: n.iface, comment: eth0.comment },
      ],
    });
    const where = lanNetwork ? `the LAN (${lanNetwork})` : `${n.attachedTo}${uplink ? ` ${uplink.name}` : ''}`;
    const net = { mgmt: MGMT_NODE, mgmtMac, iface: n.iface, mac: n.mac, address: `${n.addr.ip}/${n.addr.prefixLen}`, gateway: n.gateway, uplink: where };
    device(n.name, 'interfaces', 'node-interfaces', net);
    device(n.name, 'netplan.yaml', 'node-netplan.yaml', net);
    device(n.name, 'dhclient-mgmt', 'dhclient-mgmt', { iface: MGMT_NODE });
    if (plan.networking === 'bridge') device(n.name, 'bridge-cni.conf', 'bridge-cni.conf', bridgeCniData(plan, n));
    return {
      name: n.name, role: 'node', summary: nodeSummary(n, net.uplink), box: lv.nodeBox,
      memory: lv.nodeMemory, cpus: lv.nodeCpus, mgmtMac, nics: [eth0],
      provisioners: nodeProvisioners(plan, n),
    };
  });

  if (plan.networking === 'vxlan' || plan.networking === 'bgp' || plan.networking === 'ipip') {
    const data = { version: lv.calicoVersion, backend: plan.networking === 'vxlan' ? 'vxlan' : 'bird', birdProbes: plan.networking !== 'vxlan', mode: plan.networking };
    for (const f of ['kustomization.yaml', 'calico-config.yaml', 'calico-node.yaml']) {
      files.push({ path: `provision/calico-install/${f}`, template: `vagrant/provision/calico-install/${f}.hbs`, data });
    }
  }

  return {
    lab,
    prefix: `${lab}-`,
    bootTimeout: BOOT_TIMEOUT,
    provider: { driver: lv.driver, kernel: lv.kernel, initrd: lv.initrd, cmdLine: lv.cmdline },
    tunnels: {
      subnet: wide ? `127.${x}.0.0/16` : `${space.prefix}.0/24`,
      ...(cables.length ? { ports: { first: space.firstPort, last: space.firstPort + 2 * cables.length - 1 } } : {}),
    },
    ...(lanNetwork ? { lanNetwork } : {}),
    machines: [...switches, ...nodes],
    files,
  };
}

const macOf = (n: VagrantNic) => String(n.options.find(([k]) => k === 'mac')![1]);

const shell = (name: string, script: string, args: string[]): Provisioner => ({ type: 'shell', name, path: `provision/${script}`, args });
const upload = (name: string, source: string, into: string): Provisioner => ({ type: 'file', name, source, destination: `${UPLOAD_DIR}/${into}` });
/** Empty the upload folder, then upload this VM's data files (provision/devices/NAME). */
const stage = (device: string): Provisioner[] => [shell('stage', 'stage.sh', []), upload('upload-device', `provision/devices/${device}`, 'device')];

function nodeProvisioners(plan: Plan, n: KNode): Provisioner[] {
  const cluster = plan.cluster!;
  const calico = plan.networking === 'vxlan' || plan.networking === 'bgp' || plan.networking === 'ipip';
  const calicoVersion = plan.lab.libvirt.calicoVersion;
  const first = n.name === cluster.controlPlane;
  const version = kubernetesVersion(cluster.version).full.replace(/^v/, '');
  const out: Provisioner[] = [...stage(n.name), upload('upload-kubernetes', 'kubernetes', 'kubernetes')];
  if (first && calico) out.push(upload('upload-calico', 'calico', 'calico'), upload('upload-calico-install', 'provision/calico-install', 'calico-install'));
  out.push(
    shell('ifnames', 'ifnames.sh', ['install']),
    shell('node-common', 'node-common.sh', ['--role', n.role, '--kubernetes', version, ...(calico ? ['--calico', calicoVersion] : [])]),
    shell('node-network', 'node-network.sh', ['--name', n.name]),
  );
  if (plan.networking === 'bridge') out.push(shell('bridge-cni', 'bridge-cni.sh', ['--name', n.name]));
  if (first) {
    const args = ['--name', n.name];
    if (plan.nodes.filter((o) => o.role === 'control-plane').length > 1) args.push('--upload-certs');
    if (calico) args.push('--calico', calicoVersion);
    for (const o of plan.nodes) args.push('--node', o.name);
    for (const o of plan.nodes) for (const [k, v] of Object.entries(o.labels).sort()) args.push('--label', `${o.name}:${k}=${v}`);
    if (plan.networking === 'bgp') for (const o of plan.nodes) args.push('--calico-bgp', `${o.name},${o.addr.ip}/${o.addr.prefixLen},${o.bgp!.asn}`);
    out.push(shell('control-plane', 'control-plane.sh', args));
  } else {
    const cp = plan.nodes.find((o) => o.name === cluster.controlPlane)!;
    out.push(shell('join', 'join.sh', ['--name', n.name, '--api-server', `${cp.addr.ip}:${API_SERVER_PORT}`]));
  }
  return out;
}

function bridgeCniData(plan: Plan, n: KNode) {
  return {
    podSubnet: plan.cluster!.podSubnet,
    masquerade: plan.cluster!.natOutgoing ? 'yes' : 'no',
    routes: remoteBlocks(plan.nodes, n).map((r) => ({ block: r.block, via: r.nodeIp, node: r.node })),
  };
}

function switchSummary(sw: Switch): string {
  const os = sw.os === 'cumulus' ? 'Cumulus VX' : 'FRR on Debian';
  return `${sw.kind}, ${os}${sw.bgp ? `, AS ${sw.bgp.asn}` : ''}${sw.loopback ? `, loopback ${sw.loopback}` : ''}`;
}

const nodeSummary = (n: KNode, uplink: string) => `${n.role}, ${n.addr.ip}/${n.addr.prefixLen} on ${uplink}`;
