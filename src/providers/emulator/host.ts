// Host prerequisites, checked before anything is created: privilege, binaries (with the
// Debian package that provides them) and kernel features (probed in a throwaway network
// namespace that disappears with the probe process).
import { execa } from 'execa';
import type { Plan } from '../../plan/types.js';
import { hostLacks } from '../../errors.js';
import { requireTools, type Tool } from '../host-tools.js';


const FRR: Tool[] = [
  { bin: '/usr/lib/frr/zebra', pkg: 'frr' },
  { bin: '/usr/lib/frr/bgpd', pkg: 'frr' },
  { bin: 'vtysh', pkg: 'frr' },
];
const BIRD: Tool[] = [{ bin: 'bird', pkg: 'bird2' }, { bin: 'birdc', pkg: 'bird2' }];

/** Tools a plan needs on this host (verify pings from pods, so iputils-ping too). */
export function requiredTools(plan: Plan): Tool[] {
  const bins: Tool[] = [
    { bin: 'ip', pkg: 'iproute2' },
    { bin: 'bridge', pkg: 'iproute2' },
    { bin: 'sysctl', pkg: 'procps' },
    { bin: 'unshare', pkg: 'util-linux' },
    { bin: 'nsenter', pkg: 'util-linux' },
    { bin: 'hostname', pkg: 'hostname' },
    { bin: 'tcpdump', pkg: 'tcpdump' },
    { bin: 'ping', pkg: 'iputils-ping' },
    { bin: 'fping', pkg: 'fping' }, // verify: one process per source pod probes all its targets
    // Every lab: the exec helpers (exec-server.py: build steps and observers), the daemon
    // spawner, the sysctls, and the pods' responders.
    { bin: '/usr/bin/python3', pkg: 'python3' },
  ];
  if (plan.switches.some((s) => s.bgp)) bins.push(...FRR);
  if (plan.nodes.some((n) => n.bgp)) bins.push(...BIRD);
  if (plan.networking === 'bridge' || plan.cluster?.natOutgoing || plan.services.length) bins.push({ bin: 'iptables-restore', pkg: 'iptables' });
  return bins;
}

interface KernelFeature { probe: string; message: string }

/** Kernel features a plan needs, each with an `ip` command that fails without it. */
export function requiredKernelFeatures(plan: Plan): KernelFeature[] {
  const features: KernelFeature[] = [
    { probe: 'link add name flp-veth0 type veth peer name flp-veth1', message: 'veth pairs (kernel module veth, CONFIG_VETH)' },
    { probe: 'link add name flp-br type bridge', message: 'Linux bridges (kernel module bridge, CONFIG_BRIDGE)' },
  ];
  if (plan.networking === 'vxlan') {
    features.push({ probe: 'link add name flp-vx type vxlan id 1 dstport 4789', message: 'VXLAN (kernel module vxlan, CONFIG_VXLAN)' });
  }
  if (plan.networking === 'ipip') {
    features.push({
      probe: 'link add name flp-tun type ipip local 192.0.2.1',
      message: 'IPIP tunnels: the kernel module `ipip` is missing; load it with `modprobe ipip` or use a kernel with CONFIG_NET_IPIP',
    });
  }
  return features;
}

/** Throws LabError (exit 4) naming what the host lacks. Creates nothing. */
export async function checkHost(plan: Plan): Promise<void> {
  if (process.getuid?.() !== 0) throw hostLacks('the emulator needs root (network namespaces, FRR, BIRD): run as root');
  await requireTools(requiredTools(plan), 'the emulator');
  const features = requiredKernelFeatures(plan);
  // -force: run every probe and report each failure ("Command failed -:N").
  const r = await execa('unshare', ['--net', 'ip', '-force', '-batch', '-'], {
    input: features.map((f) => f.probe).join('\n') + '\n',
    reject: false,
  });
  if (r.exitCode === 0) return;
  const failed = [...r.stderr.matchAll(/Command failed -:(\d+)/g)].map((m) => features[Number(m[1]) - 1]).filter(Boolean);
  if (!failed.length) throw hostLacks(`cannot create a network namespace to probe the kernel: ${r.stderr.trim()}`);
  throw hostLacks(`this kernel lacks ${failed.map((f) => f.message).join('; ')}`);
}
