// STUB (no validation): replaced by the real loader/validator. Same API.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import type { Lab } from './types.js';
import { labsDir } from '../paths.js';

/** A lab name (labs/NAME.yaml) or a path to a lab file. */
export function resolveLabFile(ref: string): string {
  if (ref.includes('/') || ref.endsWith('.yaml') || ref.endsWith('.yml')) return path.resolve(ref);
  return path.join(labsDir, `${ref}.yaml`);
}

export async function loadLab(ref: string): Promise<Lab> {
  const file = resolveLabFile(ref);
  const raw = parse(await readFile(file, 'utf8'));
  const cal = raw.cni?.calico;
  const cni = raw.cni?.plugin === 'bridge'
    ? { plugin: 'bridge' as const, bridge: { bridge: 'cni0', nodeCidrBits: 24, masquerade: true, ...raw.cni.bridge } }
    : raw.cni ? { plugin: 'calico' as const, calico: { blockSize: 26, vxlanVNI: 4096, vxlanPort: 4789, natOutgoing: true, asNumber: 64512, peering: 'as-per-rack', ...cal } } : undefined;
  const os = raw.fabric?.os ?? 'cumulus';
  return {
    name: raw.name, description: raw.description ?? '', file,
    fabric: raw.fabric ? { ...raw.fabric, os } : undefined,
    lan: raw.lan,
    kubernetes: raw.kubernetes ? { ...raw.kubernetes, nodes: raw.kubernetes.nodes.map((n: any) => ({ role: 'worker', ...n })) } : undefined,
    cni,
    workloads: raw.workloads ?? [],
    libvirt: {
      driver: 'kvm', switchBox: os === 'cumulus' ? 'CumulusCommunity/cumulus-vx' : 'debian/bookworm64', nodeBox: 'generic/ubuntu2204',
      switchMemory: 768, switchCpus: 1, nodeMemory: 2048, nodeCpus: 2, calicoVersion: '3.28.2', ...raw.libvirt,
    },
  };
}
