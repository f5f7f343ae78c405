// Installing what a provider needs on first use (DESIGN 5): the provider names its tools
// and their Debian packages; missing ones are installed with apt-get when we are root,
// and we say so.
import { execa } from 'execa';
import { hostLacks } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import { missingTools, packagesOf } from '../providers/host-tools.js';

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw hostLacks(`${what} needs root (network namespaces, daemons): run it with sudo`);
}

/** Install the Debian packages the provider needs for this plan, if any is missing. */
export async function ensureHost(provider: Provider, plan: Plan, log: (msg: string) => void): Promise<void> {
  const tools = provider.requiredTools(plan);
  const missing = packagesOf(await missingTools(tools));
  if (!missing.length) return;
  if (process.getuid?.() !== 0) {
    throw hostLacks(`the ${provider.name} provider needs Debian packages that are not installed: ${missing.join(' ')}\n  install them: sudo apt-get install ${missing.join(' ')}`);
  }
  log(`installing Debian packages the ${provider.name} provider needs: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    await execa('apt-get', ['update', '-qq'], { env });
    await execa('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
  } catch (e) {
    const err = e as { stderr?: string; shortMessage?: string };
    throw hostLacks(`could not install ${missing.join(' ')} with apt-get: ${(err.stderr || err.shortMessage || String(e)).trim().split('\n').slice(-3).join('\n')}`);
  }
  const still = packagesOf(await missingTools(tools));
  if (still.length) throw hostLacks(`still missing after apt-get install: ${still.join(' ')}`);
}
