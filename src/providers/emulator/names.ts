// Names and paths the emulator gives to what it creates. Every name is built from the run
// key (the lab name, or `lab_instance` for an instance: src/workshop/instance.ts) and the
// device, with "_" between the parts: lab, instance and device names are [a-z0-9-] and
// cannot contain "_", so the names are injective (lab `rel` + device `vx-leaf1` is
// `fl_rel_vx-leaf1`, lab `rel-vx` + device `leaf1` is `fl_rel-vx_leaf1`, instance s1 of rel
// is `fl_rel_s1_leaf1`), and `down` can tell from a name alone whether it is its own.
import path from 'node:path';
import { createHash } from 'node:crypto';
import { stateRoot } from '../../paths.js';

/** Directory of everything the emulator keeps for one lab (state, BIRD files, logs). */
export const labDir = (key: string) => path.join(stateRoot, 'emulator', key);
export const stateFile = (key: string) => path.join(labDir(key), 'state.json');
/** Short directory for Unix sockets whose path under labDir would pass the 108-byte limit. */
export const socketDir = (key: string) => path.join('/run/fabric-lab', key);

/** FRR's own pathspace (`-N`): config in /etc/frr/<ns>, sockets and pids in /var/run/frr/<ns>. */
export const FRR_CONF_ROOT = '/etc/frr';
export const FRR_RUN_ROOT = '/var/run/frr';
export const frrConfDir = (ns: string) => path.join(FRR_CONF_ROOT, ns);
export const frrRunDir = (ns: string) => path.join(FRR_RUN_ROOT, ns);

const NS_PREFIX = 'fl';
/** /var/run/frr/<ns>/zserv.api must stay under the 108-byte Unix socket limit. */
const MAX_NS = 60;

const hash = (s: string, n: number) => createHash('sha1').update(s).digest('hex').slice(0, n);

/** Everything before the device part of the run's namespace names: `fl_<key>_`. */
export const namespacePrefix = (key: string) => `${NS_PREFIX}_${key}_`;

/** Namespace of one device: `fl_<lab>_<device>` (or `fl_<lab>_<instance>_<device>`). */
export function namespaceOf(key: string, device: string): string {
  const prefix = namespacePrefix(key);
  const name = prefix + device;
  if (name.length <= MAX_NS) return name;
  // Too long: a prefix of the device name and a hash of both, still without "_".
  return `${prefix}${device.slice(0, MAX_NS - prefix.length - 9)}-${hash(`${key}/${device}`, 8)}`;
}

/** Whether a namespace (or FRR pathspace) name is one of this lab's own (and not another instance's). */
export function ownsNamespace(key: string, name: string): boolean {
  const prefix = namespacePrefix(key);
  const rest = name.slice(prefix.length);
  return name.startsWith(prefix) && /^[a-z0-9][a-z0-9-]*$/.test(rest);
}

/**
 * The device's own UTS namespace (its hostname), bound to this file with
 * `unshare --uts=FILE`: network namespaces do not isolate the hostname.
 */
export const utsDir = (key: string) => path.join(labDir(key), 'uts');
export const utsFile = (key: string, device: string) => path.join(utsDir(key), device);

/** BIRD control socket of a node; under socketDir when labDir would make it too long. */
export function birdSocket(key: string, device: string): string {
  const p = path.join(labDir(key), 'bird', `${device}.ctl`);
  if (p.length < 100) return p;
  return path.join(socketDir(key), `${hash(`${key}/${device}`, 12)}.ctl`);
}

/** Whether `p` is inside one of the directories the lab owns (labDir, socketDir, its FRR pathspaces). */
export function ownsPath(key: string, p: string): boolean {
  const norm = path.resolve(p);
  if (norm !== p) return false; // no "..", no relative paths
  const under = (dir: string) => norm === dir || norm.startsWith(dir + '/');
  if (under(labDir(key)) || under(socketDir(key))) return true;
  for (const root of [FRR_CONF_ROOT, FRR_RUN_ROOT]) {
    if (norm.startsWith(root + '/')) {
      const top = norm.slice(root.length + 1).split('/')[0];
      if (ownsNamespace(key, top)) return true;
    }
  }
  return false;
}
