// Providers load lazily: `lab list` and `lab --version` must not pay for them.
import type { Provider } from './types.js';
import { badInput } from '../errors.js';

export type ProviderName = 'emulator' | 'libvirt';
export const providerNames: ProviderName[] = ['emulator', 'libvirt'];

export async function getProvider(name: string): Promise<Provider> {
  if (name === 'emulator') return (await import('./emulator/index.js')).emulator;
  if (name === 'libvirt') return (await import('./libvirt/index.js')).libvirt;
  throw badInput(`unknown provider "${name}"; allowed: ${providerNames.join(', ')}`);
}
