// Names and paths the emulator gives to what it creates. Everything is prefixed with the
// lab name so several labs (even with overlapping addresses) can run side by side.
import path from 'node:path';
import { createHash } from 'node:crypto';
import { stateRoot } from '../../paths.js';

/** Directory of everything the emulator keeps for one lab (state, BIRD files, logs). */
export const labDir = (lab: string) => path.join(stateRoot, 'emulator', lab);
export const stateFile = (lab: string) => path.join(labDir(lab), 'state.json');

/** FRR's own pathspace (`-N`): config in /etc/frr/<ns>, sockets and pids in /var/run/frr/<ns>. */
export const frrConfDir = (ns: string) => path.join('/etc/frr', ns);
export const frrRunDir = (ns: string) => path.join('/var/run/frr', ns);

// FRR refuses '/' and '.' in a pathspace; netns names must be valid file names.
const safe = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '-');

/** Namespace of one device: `fl-<lab>-<device>`. */
export function namespaceOf(lab: string, device: string): string {
  const name = `fl-${safe(lab)}-${safe(device)}`;
  // Unix socket paths (/var/run/frr/<ns>/zserv.api) must stay under 108 bytes.
  if (name.length <= 60) return name;
  const hash = createHash('sha1').update(`${lab}/${device}`).digest('hex').slice(0, 8);
  return `${name.slice(0, 50)}-${hash}`;
}

/** BIRD control socket of a node; kept short for the 108-byte Unix socket limit. */
export function birdSocket(lab: string, device: string): string {
  const p = path.join(labDir(lab), 'bird', `${safe(device)}.ctl`);
  if (p.length < 100) return p;
  const hash = createHash('sha1').update(`${lab}/${device}`).digest('hex').slice(0, 12);
  return path.join('/run', `fabric-lab-bird-${hash}.ctl`);
}
