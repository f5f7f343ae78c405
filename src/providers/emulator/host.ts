// Host prerequisites, checked before anything is created: privilege, binaries (with the
// Debian package that provides them) and kernel features (probed in a throwaway network
// namespace that disappears with the probe process).
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Plan } from '../../plan/types.js';
import { hostLacks } from '../../errors.js';

interface Binary { name: string; pkg: string }

const FRR = [
  { name: '/usr/lib/frr/zebra', pkg: 'frr' },
  { name: '/usr/lib/frr/bgpd', pkg: 'frr' },
  { name: 'vtysh', pkg: 'frr' },
];
const BIRD = [{ name: 'bird', pkg: 'bird2' }, { name: 'birdc', pkg: 'bird2' }];

/** Binaries a plan needs on this host. */
export function requiredBinaries(plan: Plan): Binary[] {
  const bins: Binary[] = [
    { name: 'ip', pkg: 'iproute2' },
    { name: 'bridge', pkg: 'iproute2' },
    { name: 'sysctl', pkg: 'procps' },
    { name: 'unshare', pkg: 'util-linux' },
    { name: 'tcpdump', pkg: 'tcpdump' },
  ];
  if (plan.switches.some((s) => s.bgp)) bins.push(...FRR);
  if (plan.nodes.some((n) => n.bgp)) bins.push(...BIRD);
  if (plan.networking === 'bridge' || plan.cluster?.natOutgoing) bins.push({ name: 'iptables-restore', pkg: 'iptables' });
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

async function onPath(name: string): Promise<boolean> {
  const dirs = name.includes('/') ? [''] : [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    try {
      await access(d ? path.join(d, name) : name, constants.X_OK);
      return true;
    } catch {
      // try the next directory
    }
  }
  return false;
}

/** Throws LabError (exit 4) naming what the host lacks. Creates nothing. */
export async function checkHost(plan: Plan): Promise<void> {
  if (process.getuid?.() !== 0) throw hostLacks('the emulator needs root (network namespaces, FRR, BIRD): run as root');
  const bins = requiredBinaries(plan);
  const present = await Promise.all(bins.map((b) => onPath(b.name)));
  const missing = bins.filter((_, i) => !present[i]);
  if (missing.length) {
    const pkgs = [...new Set(missing.map((b) => b.pkg))];
    throw hostLacks(`missing ${missing.map((b) => b.name).join(', ')}: install the Debian package${pkgs.length > 1 ? 's' : ''} ${pkgs.join(' ')} (apt-get install ${pkgs.join(' ')})`);
  }
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
