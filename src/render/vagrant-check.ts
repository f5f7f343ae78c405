// Our own checker of the Vagrant model. `vagrant validate` catches Ruby errors and unknown
// provider settings, but vagrant-libvirt reads a network's libvirt__* options from a plain
// hash: a misspelt name or a wrong value is silently ignored and only shows up as a VM
// without its cable. So every option of every NIC is checked here, on the same data the
// Vagrantfile is rendered from.
import type { VagrantModel, VagrantNic, RubyValue } from './vagrant-model.js';

/**
 * private_network options vagrant-libvirt 0.11 reads (lib/vagrant-libvirt/util/network_util.rb,
 * action/create_networks.rb, action/create_network_interfaces.rb), with the libvirt__ scope.
 */
export const LIBVIRT_NETWORK_OPTIONS = new Set([
  'adapter', 'always_destroy', 'autostart', 'bridge_delay', 'bridge_stp', 'bus', 'dhcp_bootp_file',
  'dhcp_bootp_server', 'dhcp_enabled', 'dhcp_start', 'dhcp_stop', 'domain_name', 'driver_iommu',
  'driver_name', 'driver_queues', 'forward_device', 'forward_mode', 'guest_ipv6', 'host_ip', 'iface_name',
  'ipv6_address', 'ipv6_prefix', 'mac', 'model_type', 'mtu', 'netmask', 'network_address', 'network_name',
  'slot', 'tftp_root', 'tunnel_ip', 'tunnel_local_ip', 'tunnel_local_port', 'tunnel_port', 'tunnel_type',
].map((o) => `libvirt__${o}`));
/** Unscoped options we use: the NIC's MAC and Vagrant's own "do not configure it". */
export const CORE_NETWORK_OPTIONS = new Set(['mac', 'auto_config']);
/** Forward modes that give the host no address and no route into the network. */
const ISOLATED_FORWARD_MODES = new Set(['none', 'veryisolated']);

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const DOTTED = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
/** Shell provisioner arguments: plain words only, so neither Ruby nor the guest shell can read more into them. */
const SAFE_ARG = /^[A-Za-z0-9._:/=,@+-]+$/;
const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

interface Endpoint { ip: string; port: number }
interface TunnelEnd { where: string; local: Endpoint; remote: Endpoint }

const key = (e: Endpoint) => `${e.ip}:${e.port}`;

function isLoopback(ip: string): boolean {
  const m = DOTTED.exec(ip);
  return !!m && m.slice(1).every((o) => Number(o) <= 255) && Number(m[1]) === 127;
}

/** Every problem of the model, as readable lines (empty when it is sound). */
export function checkVagrantModel(model: VagrantModel): string[] {
  const problems: string[] = [];
  const tunnelEnds: TunnelEnd[] = [];
  const macs = new Map<string, string>();
  const names = new Set<string>();

  const p = model.provider;
  for (const k of ['kernel', 'initrd'] as const) if (p[k] !== undefined && !p[k]!.startsWith('/')) problems.push(`provider ${k} must be an absolute path (libvirtd resolves it, not vagrant): ${p[k]}`);
  if ((p.initrd !== undefined || p.cmdLine !== undefined) && p.kernel === undefined) problems.push('provider initrd/cmd_line need a kernel (direct kernel boot)');
  if (!/^[a-z0-9][a-z0-9-]*-$/.test(model.prefix)) problems.push(`default_prefix ${JSON.stringify(model.prefix)} must be a lab name followed by "-"`);

  const claimMac = (mac: string, where: string) => {
    if (!MAC.test(mac)) problems.push(`${where}: MAC ${mac} is not six lower-case hex bytes`);
    else if (parseInt(mac.slice(0, 2), 16) & 1) problems.push(`${where}: MAC ${mac} is multicast`);
    const prev = macs.get(mac);
    if (prev) problems.push(`${where}: MAC ${mac} is already used by ${prev}`);
    else macs.set(mac, where);
  };

  for (const m of model.machines) {
    if (names.has(m.name)) problems.push(`machine ${m.name} is defined twice`);
    names.add(m.name);
    if (!HOSTNAME.test(m.name)) problems.push(`machine ${m.name}: not a valid hostname`);
    claimMac(m.mgmtMac, `${m.name} management NIC`);
    const guestNames = new Set<string>();
    for (const nic of m.nics) {
      const where = `${m.name} ${nic.guestName}`;
      if (guestNames.has(nic.guestName)) problems.push(`${where}: two NICs with this name`);
      guestNames.add(nic.guestName);
      const end = checkNic(nic, where, problems, claimMac);
      if (end) tunnelEnds.push(end);
    }
    const provNames = new Set<string>();
    for (const pr of m.provisioners) {
      if (provNames.has(pr.name)) problems.push(`${m.name}: provisioner ${pr.name} appears twice`);
      provNames.add(pr.name);
      if (pr.type === 'shell') for (const a of pr.args) if (!SAFE_ARG.test(a)) problems.push(`${m.name} ${pr.name}: argument ${JSON.stringify(a)} has characters outside ${SAFE_ARG.source}`);
    }
  }

  problems.push(...checkTunnels(tunnelEnds));
  return problems;
}

function optionsOf(nic: VagrantNic, where: string, problems: string[]): Map<string, RubyValue> {
  const opts = new Map<string, RubyValue>();
  for (const [name, value] of nic.options) {
    if (!LIBVIRT_NETWORK_OPTIONS.has(name) && !CORE_NETWORK_OPTIONS.has(name)) problems.push(`${where}: unknown network option ${name} (vagrant-libvirt 0.11 would ignore it)`);
    if (opts.has(name)) problems.push(`${where}: option ${name} given twice`);
    opts.set(name, value);
  }
  return opts;
}

function checkNic(nic: VagrantNic, where: string, problems: string[], claimMac: (mac: string, where: string) => void): TunnelEnd | undefined {
  const opts = optionsOf(nic, where, problems);
  const mac = opts.get('mac');
  if (typeof mac !== 'string') problems.push(`${where}: needs a fixed mac (provisioning names NICs by MAC)`);
  else claimMac(mac, where);
  if (opts.get('auto_config') !== false) problems.push(`${where}: auto_config must be false (provisioning configures lab NICs, not Vagrant)`);
  if (opts.has('libvirt__mac')) problems.push(`${where}: use mac, not libvirt__mac`);

  const tunnelType = opts.get('libvirt__tunnel_type');
  const networkName = opts.get('libvirt__network_name');
  if (tunnelType !== undefined && networkName !== undefined) problems.push(`${where}: both a tunnel and a network`);
  if (tunnelType === undefined) {
    if (networkName === undefined) { problems.push(`${where}: neither a tunnel nor a network`); return undefined; }
    for (const k of ['libvirt__tunnel_local_ip', 'libvirt__tunnel_local_port', 'libvirt__tunnel_ip', 'libvirt__tunnel_port']) if (opts.has(k)) problems.push(`${where}: ${k} without libvirt__tunnel_type`);
    if (typeof networkName !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(networkName)) problems.push(`${where}: network name ${String(networkName)} is not a plain name`);
    const mode = opts.get('libvirt__forward_mode');
    if (typeof mode !== 'string' || !ISOLATED_FORWARD_MODES.has(mode)) problems.push(`${where}: forward_mode ${String(mode)} would route the network to the host; use veryisolated`);
    if (opts.get('libvirt__dhcp_enabled') !== false) problems.push(`${where}: libvirt__dhcp_enabled must be false (addresses come from the plan)`);
    for (const k of ['ip', 'libvirt__host_ip', 'libvirt__network_address']) if (opts.has(k)) problems.push(`${where}: ${k} would give the host an address in the lab`);
    return undefined;
  }

  if (tunnelType !== 'udp') problems.push(`${where}: libvirt__tunnel_type must be "udp", not ${JSON.stringify(tunnelType)}`);
  const endpoint = (ipKey: string, portKey: string): Endpoint | undefined => {
    const ip = opts.get(ipKey);
    const port = opts.get(portKey);
    let ok = true;
    if (typeof ip !== 'string' || !isLoopback(ip)) { problems.push(`${where}: ${ipKey} ${String(ip)} is not an address in 127.0.0.0/8`); ok = false; }
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1024 || port > 65535) { problems.push(`${where}: ${portKey} ${String(port)} is not a port in 1024..65535`); ok = false; }
    return ok ? { ip: ip as string, port: port as number } : undefined;
  };
  const local = endpoint('libvirt__tunnel_local_ip', 'libvirt__tunnel_local_port');
  const remote = endpoint('libvirt__tunnel_ip', 'libvirt__tunnel_port');
  if (local && remote && key(local) === key(remote)) problems.push(`${where}: tunnel sends to itself (${key(local)})`);
  return local && remote ? { where, local, remote } : undefined;
}

/** Local endpoints unique (and local ports unique within the lab); every end mirrored by exactly one other. */
function checkTunnels(ends: TunnelEnd[]): string[] {
  const problems: string[] = [];
  const byLocal = new Map<string, TunnelEnd>();
  const byPort = new Map<number, TunnelEnd>();
  for (const e of ends) {
    const prev = byLocal.get(key(e.local));
    if (prev) problems.push(`${e.where}: local endpoint ${key(e.local)} is also ${prev.where}'s`);
    else byLocal.set(key(e.local), e);
    const samePort = byPort.get(e.local.port);
    if (samePort && samePort !== prev) problems.push(`${e.where}: local port ${e.local.port} is also ${samePort.where}'s`);
    else if (!samePort) byPort.set(e.local.port, e);
  }
  for (const e of ends) {
    const peer = byLocal.get(key(e.remote));
    if (!peer) problems.push(`${e.where}: sends to ${key(e.remote)}, where no NIC listens`);
    else if (key(peer.remote) !== key(e.local)) problems.push(`${e.where}: sends to ${peer.where} (${key(e.remote)}), which sends to ${key(peer.remote)} instead of back to ${key(e.local)}`);
  }
  return problems;
}

/** Throws when the model breaks a rule: a renderer bug, never the lab author's. */
export function assertVagrantModel(model: VagrantModel): void {
  const problems = checkVagrantModel(model);
  if (problems.length) throw new Error(`Vagrant model of lab ${model.lab} is unsound:\n  ${problems.join('\n  ')}`);
}
