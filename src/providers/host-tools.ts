// What a provider needs installed on the host, as (binary, Debian package) pairs: the
// one list both the CLI (to install what is missing on first use) and the provider (to
// fail with exit 4 before creating anything) read.
import { access, constants } from 'node:fs/promises';
import path from 'node:path';
import { hostLacks } from '../errors.js';

/** `bin` is a command name looked up on PATH, or an absolute path. */
export interface Tool { bin: string; pkg: string }

export const exists = (f: string) => access(f, constants.F_OK).then(() => true, () => false);

const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export async function onPath(bin: string): Promise<boolean> {
  const dirs = bin.includes('/') ? [''] : [...new Set([...(process.env.PATH ?? '').split(':').filter(Boolean), ...SYSTEM_DIRS])];
  for (const d of dirs) {
    try {
      await access(d ? path.join(d, bin) : bin, constants.F_OK);
      return true;
    } catch {
      // try the next directory
    }
  }
  return false;
}

export async function missingTools(tools: Tool[]): Promise<Tool[]> {
  const present = await Promise.all(tools.map((t) => onPath(t.bin)));
  return tools.filter((_, i) => !present[i]);
}

export const packagesOf = (tools: Tool[]) => [...new Set(tools.map((t) => t.pkg))];

/** Exit 4 naming what is missing and the apt-get line that installs it. */
export async function requireTools(tools: Tool[], who: string): Promise<void> {
  const missing = await missingTools(tools);
  if (!missing.length) return;
  const pkgs = packagesOf(missing);
  throw hostLacks(`${who} needs ${missing.map((t) => path.basename(t.bin)).join(', ')}: install the Debian package${pkgs.length > 1 ? 's' : ''} ${pkgs.join(' ')} (apt-get install ${pkgs.join(' ')})`);
}
