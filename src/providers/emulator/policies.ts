// The NetworkPolicies in force in a running emulator lab: a JSON file in the lab's
// directory (so `down` removes it with the rest), replaced atomically.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { NetworkPolicy } from '../../policy/types.js';
import { labDir } from './names.js';

const file = (key: string) => path.join(labDir(key), 'networkpolicies.json');

export async function readPolicies(key: string): Promise<NetworkPolicy[]> {
  try {
    return JSON.parse(await readFile(file(key), 'utf8')) as NetworkPolicy[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export async function writePolicies(key: string, policies: NetworkPolicy[]): Promise<void> {
  const f = file(key);
  await writeFile(`${f}.tmp`, JSON.stringify(policies, null, 2) + '\n');
  await rename(`${f}.tmp`, f);
}
