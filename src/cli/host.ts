// What each provider needs from the host, and installing it on first use (DESIGN 5):
// missing Debian packages are installed with apt-get when we are root, and we say so.
import { access, constants } from 'node:fs/promises';
import { execa } from 'execa';
import { hostLacks } from '../errors.js';
import type { ProviderName } from '../providers/index.js';

/** A file that proves a package is installed, and the package that provides it. */
interface Need { file: string; pkg: string }

const needs: Record<ProviderName, Need[]> = {
  emulator: [
    { file: '/usr/sbin/ip', pkg: 'iproute2' },
    { file: '/usr/lib/frr/zebra', pkg: 'frr' },
    { file: '/usr/lib/frr/bgpd', pkg: 'frr' },
    { file: '/usr/bin/vtysh', pkg: 'frr' },
    { file: '/usr/sbin/bird', pkg: 'bird2' },
    { file: '/usr/bin/tcpdump', pkg: 'tcpdump' },
    { file: '/usr/sbin/iptables', pkg: 'iptables' },
    { file: '/usr/bin/ping', pkg: 'iputils-ping' },
  ],
  libvirt: [
    { file: '/usr/bin/vagrant', pkg: 'vagrant' },
    { file: '/usr/share/doc/vagrant-libvirt', pkg: 'vagrant-libvirt' },
    { file: '/usr/sbin/libvirtd', pkg: 'libvirt-daemon-system' },
    { file: '/usr/bin/virsh', pkg: 'libvirt-clients' },
    { file: '/usr/bin/qemu-system-x86_64', pkg: 'qemu-system-x86' },
    { file: '/usr/bin/qemu-img', pkg: 'qemu-utils' },
  ],
};

const exists = (f: string) => access(f, constants.F_OK).then(() => true, () => false);

export async function missingPackages(provider: ProviderName): Promise<string[]> {
  const checks = await Promise.all(needs[provider].map(async (n) => ((await exists(n.file)) ? undefined : n.pkg)));
  return [...new Set(checks.filter((x): x is string => !!x))];
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw hostLacks(`${what} needs root (network namespaces, daemons): run it with sudo`);
}

/** Install what the provider needs, if anything is missing. */
export async function ensureHost(provider: ProviderName, log: (msg: string) => void): Promise<void> {
  const missing = await missingPackages(provider);
  if (!missing.length) return;
  if (process.getuid?.() !== 0) {
    throw hostLacks(`the ${provider} provider needs Debian packages that are not installed: ${missing.join(' ')}\n  install them: sudo apt-get install ${missing.join(' ')}`);
  }
  log(`installing Debian packages the ${provider} provider needs: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await execa('apt-get', ['update', '-qq'], { env });
    await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  } catch (e) {
    const err = e as { stderr?: string; shortMessage?: string };
    throw hostLacks(`could not install ${missing.join(' ')} with apt-get: ${(err.stderr || err.shortMessage || String(e)).trim().split('\n').slice(-3).join('\n')}`);
  }
  const still = await missingPackages(provider);
  if (still.length) throw hostLacks(`still missing after apt-get: ${still.join(' ')}`);
}
