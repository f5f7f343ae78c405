// The host side of the libvirt provider: tools, the libvirt daemon, its storage pool,
// boxes. Without systemd nobody starts libvirtd for us, so we start it ourselves inside
// a dedicated network namespace: everything vagrant-libvirt creates (its management
// bridge, dnsmasq, the VMs' UDP tunnels) then lives there and never touches the host's
// own network. A libvirtd someone else runs (systemd hosts) is used where it is.
import { readdir, readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { hostLacks } from '../../errors.js';
import { exists, requireTools, type Tool } from '../host-tools.js';

export const LIBVIRT_URI = 'qemu:///system';
export const LIBVIRT_NETNS = process.env.FABRIC_LAB_LIBVIRT_NETNS ?? 'fabric-libvirt';
export const STORAGE_POOL = 'default';
const POOL_DIR = '/var/lib/libvirt/images';

/** Where libvirt runs: the namespace vagrant and SSH must enter to reach the VMs. */
export interface LibvirtHost { netns?: string }

export const TOOLS: Tool[] = [
  { bin: 'vagrant', pkg: 'vagrant' },
  { bin: 'virsh', pkg: 'libvirt-clients' },
  { bin: 'libvirtd', pkg: 'libvirt-daemon-system' },
  { bin: 'virtlogd', pkg: 'libvirt-daemon-system' },
  { bin: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { bin: 'qemu-img', pkg: 'qemu-utils' },
  { bin: 'ip', pkg: 'iproute2' },
  // libvirt starts dnsmasq for the management network's DHCP (only a Recommends of libvirt).
  { bin: 'dnsmasq', pkg: 'dnsmasq-base' },
  { bin: '/usr/share/doc/vagrant-libvirt', pkg: 'vagrant-libvirt' },
];
/** Exit 4 naming the packages to install when a tool of the provider is missing. */
export async function checkTools(): Promise<void> {
  if (process.getuid?.() !== 0) throw hostLacks('the libvirt provider needs root (libvirtd, network namespaces): run it with sudo');
  await requireTools(TOOLS, 'the libvirt provider');
}

/** Environment for every vagrant call: no update checks (the lab hosts are offline). */
export function vagrantEnv(): Record<string, string> {
  return { VAGRANT_CHECKPOINT_DISABLE: '1', VAGRANT_BOX_UPDATE_CHECK_DISABLE: '1', VAGRANT_NO_COLOR: '1', VAGRANT_DEFAULT_PROVIDER: 'libvirt' };
}

export const virsh = (args: string[], reject = true) =>
  execa('virsh', ['-c', LIBVIRT_URI, ...args], { reject, timeout: 60_000 });

async function libvirtdAnswers(): Promise<boolean> {
  return (await execa('virsh', ['-c', LIBVIRT_URI, 'uri'], { reject: false, timeout: 10_000 })).exitCode === 0;
}

async function pidFromFile(file: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(file, 'utf8')).trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    const st = await readFile(`/proc/${pid}/stat`, 'utf8');
    return / Z /.test(st) ? undefined : pid; // a zombie is not a daemon
  } catch {
    return undefined;
  }
}

const nsInode = async (p: string) => (await stat(p)).ino;

/** The namespace libvirtd (pid) runs in: ours, the host's (undefined), or an error. */
async function netnsOf(pid: number): Promise<string | undefined> {
  const its = await nsInode(`/proc/${pid}/ns/net`);
  if (its === (await nsInode('/proc/self/ns/net'))) return undefined; // the host's (ours)
  if (await exists(`/run/netns/${LIBVIRT_NETNS}`) && its === (await nsInode(`/run/netns/${LIBVIRT_NETNS}`))) return LIBVIRT_NETNS;
  const named = (await execa('ip', ['netns', 'identify', String(pid)], { reject: false })).stdout.trim();
  if (named) return named;
  throw hostLacks(`libvirtd (pid ${pid}) runs in a network namespace without a name; stop it (kill ${pid}) and retry`);
}

async function ensureNetns(): Promise<void> {
  if (!(await exists(`/run/netns/${LIBVIRT_NETNS}`))) await execa('ip', ['netns', 'add', LIBVIRT_NETNS]);
  await execa('ip', ['-n', LIBVIRT_NETNS, 'link', 'set', 'lo', 'up']);
}

async function startDaemon(bin: string, pidFile: string): Promise<void> {
  if (await pidFromFile(pidFile)) return;
  // -d daemonizes; stdio ignored so we do not wait on pipes the daemon keeps open.
  await execa('ip', ['netns', 'exec', LIBVIRT_NETNS, bin, '-d'], { stdio: 'ignore', reject: false, timeout: 30_000 });
}

/**
 * /dev/kvm as udev would leave it (root:kvm 0660). Without udev it stays root-only: qemu
 * probed as root sees KVM, libvirt's check as the qemu user does not, and libvirtd then
 * throws its capabilities cache away on every call (each `virsh capabilities` ~10 s,
 * minutes per `vagrant up`), even with the `qemu` driver.
 */
async function fixKvmPermissions(): Promise<void> {
  let st;
  try { st = await stat('/dev/kvm'); } catch { return; }
  if ((st.mode & 0o060) === 0o060 && st.gid !== 0) return;
  await execa('chgrp', ['kvm', '/dev/kvm'], { reject: false });
  await execa('chmod', ['0660', '/dev/kvm'], { reject: false });
}

async function ensurePool(): Promise<void> {
  const info = await virsh(['pool-info', STORAGE_POOL], false);
  if (info.exitCode !== 0) {
    await execa('mkdir', ['-p', POOL_DIR]);
    await virsh(['pool-define-as', STORAGE_POOL, 'dir', '--target', POOL_DIR]);
    await virsh(['pool-autostart', STORAGE_POOL], false);
  }
  if (!/^State:\s+running/m.test((await virsh(['pool-info', STORAGE_POOL])).stdout)) await virsh(['pool-start', STORAGE_POOL]);
}

/**
 * Make sure libvirtd answers and has its storage pool; start virtlogd and libvirtd in
 * our namespace when nothing runs. Idempotent: a running daemon is left alone.
 */
export async function ensureLibvirtd(): Promise<LibvirtHost> {
  await checkTools();
  await fixKvmPermissions();
  let pid = await pidFromFile('/run/libvirtd.pid');
  if (!pid || !(await libvirtdAnswers())) {
    await ensureNetns();
    await startDaemon('virtlogd', '/run/virtlogd.pid');
    await startDaemon('libvirtd', '/run/libvirtd.pid');
    for (let i = 0; i < 60 && !(await libvirtdAnswers()); i++) await sleep(500);
    pid = await pidFromFile('/run/libvirtd.pid');
    if (!pid || !(await libvirtdAnswers())) {
      throw hostLacks(`libvirtd did not start (tried \`ip netns exec ${LIBVIRT_NETNS} libvirtd -d\`); see /var/log/libvirt/libvirtd.log`);
    }
  }
  const host: LibvirtHost = { netns: await netnsOf(pid) };
  await ensurePool();
  return host;
}

/** Exit 4 naming what to do for each missing box or boot file. */
export async function checkBoxes(boxes: string[], bootFiles: string[]): Promise<void> {
  const listed = (await execa('vagrant', ['box', 'list', '--machine-readable'], { env: vagrantEnv(), reject: false })).stdout;
  const have = new Set(listed.split('\n').map((l) => l.split(',')).filter((f) => f[2] === 'box-name').map((f) => f[3]));
  const problems: string[] = [];
  for (const box of [...new Set(boxes)]) {
    if (have.has(box)) continue;
    problems.push(box.startsWith('local/')
      ? `Vagrant box ${box} is missing: build and add it with scripts/build-box.sh`
      : `Vagrant box ${box} is missing: vagrant box add ${box} --provider libvirt`);
  }
  for (const f of bootFiles) {
    if (!(await exists(f))) problems.push(`boot file ${f} (libvirt.kernel/initrd) is missing: scripts/build-box.sh writes it`);
  }
  if (problems.length) throw hostLacks(problems.join('\n'));
}

/** Exit 4 when the lab asks for KVM and the host has none. */
export async function checkDriver(driver: string): Promise<void> {
  if (driver === 'kvm' && !(await exists('/dev/kvm'))) {
    throw hostLacks('this host has no /dev/kvm: set `libvirt: { driver: qemu }` in the lab file (software emulation, slower)');
  }
}

/** PIDs of every live process inside our libvirt namespace (libvirtd, virtlogd, dnsmasq). */
async function processesInOurNetns(): Promise<number[]> {
  const ino = await nsInode(`/run/netns/${LIBVIRT_NETNS}`);
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number);
  const inside = await Promise.all(pids.map(async (pid) => {
    try {
      return (await nsInode(`/proc/${pid}/ns/net`)) === ino && !/ Z /.test(await readFile(`/proc/${pid}/stat`, 'utf8')) ? pid : undefined;
    } catch {
      return undefined; // exited meanwhile
    }
  }));
  return inside.filter((p): p is number => p !== undefined);
}

/**
 * After the last lab's down: stop the libvirtd, virtlogd and dnsmasq we started in our
 * namespace and delete it, so nothing is left behind. A libvirtd we did not start (a
 * system one), or one that still has domains (another lab), is left alone.
 */
export async function stopOurLibvirtdIfIdle(): Promise<boolean> {
  if (!(await exists(`/run/netns/${LIBVIRT_NETNS}`))) return false;
  const pid = await pidFromFile('/run/libvirtd.pid');
  if (pid && (await netnsOf(pid).catch(() => undefined)) !== LIBVIRT_NETNS) return false;
  if (pid && (await virsh(['list', '--all', '--name'], false)).stdout.trim() !== '') return false;
  for (let round = 0; round < 2; round++) {
    const pids = await processesInOurNetns();
    for (const p of pids) { try { process.kill(p, round === 0 ? 'SIGTERM' : 'SIGKILL'); } catch { /* gone */ } }
    for (let i = 0; i < 50 && (await processesInOurNetns()).length; i++) await sleep(100);
    if (!(await processesInOurNetns()).length) break;
  }
  await execa('ip', ['netns', 'del', LIBVIRT_NETNS], { reject: false });
  return !(await exists(`/run/netns/${LIBVIRT_NETNS}`));
}
