// The NetworkPolicies in force in a running emulator lab: a JSON file in the lab's
// directory (so `down` removes it with the rest), written atomically
// (src/state/json-file.ts). A damaged file is an error here, not "no policies": the
// nodes' rules would otherwise be silently rewritten without them.
import path from 'node:path';
import type { NetworkPolicy } from '../../policy/types.js';
import { checkFields, readJson, writeJsonAtomic } from '../../state/json-file.js';
import { LabError, ExitCode } from '../../errors.js';
import { labDir } from './names.js';

const file = (key: string) => path.join(labDir(key), 'networkpolicies.json');

export async function readPolicies(key: string): Promise<NetworkPolicy[]> {
  const r = await readJson<{ policies: NetworkPolicy[] }>(file(key), (v) => checkFields(v, { policies: 'array' }));
  if (r.kind === 'missing') return [];
  if (r.kind === 'damaged') throw new LabError(`${r.file} is damaged (${r.reason}): apply your policies again after \`rm ${r.file}\``, ExitCode.hostLacks);
  return r.value.policies;
}

export async function writePolicies(key: string, policies: NetworkPolicy[]): Promise<void> {
  await writeJsonAtomic(file(key), { lab: key, policies });
}
