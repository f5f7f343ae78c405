// Removing what a lab left in libvirt after `vagrant destroy` (or when destroy could not
// run): its domains, their volumes, and the networks its `up` created once nothing uses
// them. The cached box volume (`*_vagrant_box_image_*`) is kept: it is shared by labs.
import { virsh, STORAGE_POOL } from './host.js';

export interface LibvirtInventory { domains: string[]; volumes: string[]; networks: string[] }

const names = (out: string) => out.split('\n').map((l) => l.trim()).filter(Boolean);

export async function inventory(): Promise<LibvirtInventory> {
  const [d, v, n] = await Promise.all([
    virsh(['list', '--all', '--name'], false),
    virsh(['vol-list', STORAGE_POOL], false),
    virsh(['net-list', '--all', '--name'], false),
  ]);
  // vol-list prints a header and a rule before `name path` rows.
  const volumes = v.stdout.split('\n').slice(2).map((l) => l.trim().split(/\s+/)[0]).filter(Boolean);
  return { domains: names(d.stdout), volumes, networks: names(n.stdout) };
}

export const isBoxVolume = (vol: string) => vol.includes('_vagrant_box_image_');

/** Networks some domain is attached to (such a network must stay). */
export async function networksInUse(domains: string[]): Promise<Set<string>> {
  const used = new Set<string>();
  for (const dom of domains) {
    const out = (await virsh(['domiflist', dom], false)).stdout;
    for (const line of out.split('\n').slice(2)) {
      const f = line.trim().split(/\s+/);
      if (f[1] === 'network' && f[2]) used.add(f[2]);
    }
  }
  return used;
}

export interface Leftovers { domains: string[]; volumes: string[]; networks: string[] }

/** What still belongs to the lab: domains/volumes with its prefix, its unused networks. */
export async function leftovers(prefix: string, createdNetworks: string[]): Promise<Leftovers> {
  const inv = await inventory();
  const domains = inv.domains.filter((d) => d.startsWith(prefix));
  const volumes = inv.volumes.filter((v) => v.startsWith(prefix) && !isBoxVolume(v));
  const others = inv.domains.filter((d) => !d.startsWith(prefix));
  const used = await networksInUse(others);
  const networks = createdNetworks.filter((n) => inv.networks.includes(n) && !used.has(n));
  return { domains, volumes, networks };
}

/** Remove the leftovers; returns what was removed, for the progress line. */
export async function removeLeftovers(l: Leftovers): Promise<string[]> {
  const removed: string[] = [];
  for (const dom of l.domains) {
    await virsh(['destroy', dom], false);
    await virsh(['undefine', dom, '--remove-all-storage', '--nvram'], false);
    removed.push(`domain ${dom}`);
  }
  for (const vol of l.volumes) {
    if ((await virsh(['vol-delete', vol, '--pool', STORAGE_POOL], false)).exitCode === 0) removed.push(`volume ${vol}`);
  }
  for (const net of l.networks) {
    await virsh(['net-destroy', net], false);
    if ((await virsh(['net-undefine', net], false)).exitCode === 0) removed.push(`network ${net}`);
  }
  return removed;
}
