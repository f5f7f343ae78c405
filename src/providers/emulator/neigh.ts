// The kernel's neighbour tables (ARP, IPv6 ND) are shared by every network namespace, and
// by default hold 1,024 entries (gc_thresh3; the kernel starts evicting at gc_thresh2 =
// 512). A big lab needs more: past the limit the kernel logs "neighbor table overflow"
// and connections fail with "No route to host". This is a host setting, so `up` says
// when it raises it, records the values it found in one host-wide file (beside the
// labs' state, written atomically), and the last lab that needed it restores them on `down`.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stateRoot } from '../../paths.js';
import type { Plan } from '../../plan/types.js';
import { remoteBlocks } from '../../plan/cluster.js';
import { checkFields, readJson, removeJson, writeJsonAtomic } from '../../state/json-file.js';

export const NEIGH_KEYS = [1, 2, 3].flatMap((n) => ['ipv4', 'ipv6'].map((f) => `net.${f}.neigh.default.gc_thresh${n}`));

interface NeighState {
  /** The values found before the first lab raised them. */
  original: Record<string, number>;
  /** Lab keys (lab or lab_instance) that still need the raised values. */
  labs: string[];
  /** What is set now (the largest any of `labs` asked for). */
  applied: Record<string, number>;
}

const file = () => path.join(stateRoot, 'host', 'neigh.json');
const procPath = (key: string) => `/proc/sys/${key.replace(/\./g, '/')}`;

/**
 * Entries the lab can hold at once: both ends of every cable (ARP and, where IPv6 is on,
 * a link-local neighbour), plus Felix's permanent VTEP entries in VXLAN mode (one per
 * remote node on every node).
 */
export function neighbourEntries(plan: Plan): number {
  const ends = 2 * plan.links.length;
  const vteps = plan.networking === 'vxlan' ? plan.nodes.reduce((n, node) => n + (node.vtep ? remoteBlocks(plan.nodes, node).length : 0), 0) : 0;
  return ends + vteps;
}

/** Thresholds for `entries`: start evicting at twice the lab's size, refuse at four times. */
export function wantedThresholds(entries: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of ['ipv4', 'ipv6']) {
    out[`net.${f}.neigh.default.gc_thresh1`] = entries;
    out[`net.${f}.neigh.default.gc_thresh2`] = 2 * entries;
    out[`net.${f}.neigh.default.gc_thresh3`] = 4 * entries;
  }
  return out;
}

/**
 * Whether the host's limits are too small: only the eviction and hard thresholds count
 * (gc_thresh2, gc_thresh3); gc_thresh1, below which nothing is collected, is raised with
 * them but never alone (a 128-link lab must not change a host setting for that).
 */
export function needsRaise(want: Record<string, number>, now: Record<string, number>): boolean {
  return NEIGH_KEYS.filter((k) => !k.endsWith('thresh1')).some((k) => want[k] > now[k]);
}

async function current(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const k of NEIGH_KEYS) out[k] = Number((await readFile(procPath(k), 'utf8')).trim());
  return out;
}

async function apply(values: Record<string, number>): Promise<void> {
  // thresh3 first when raising (the kernel wants thresh1 <= thresh2 <= thresh3 only in spirit;
  // it accepts any order), in a fixed order so a failure leaves a clear state.
  for (const k of [...NEIGH_KEYS].reverse()) await writeFile(procPath(k), `${values[k]}\n`);
}

async function load(): Promise<NeighState | undefined> {
  const r = await readJson<NeighState>(file(), (v) => checkFields(v, { original: 'object', labs: 'string[]', applied: 'object' }));
  return r.kind === 'ok' ? r.value : undefined;
}

/**
 * Raise the thresholds if this lab needs more than the host has; returns a sentence for the
 * user when it changed them, else undefined. Recorded before it is changed.
 */
export async function raiseNeighbourLimits(key: string, plan: Plan): Promise<string | undefined> {
  const want = wantedThresholds(neighbourEntries(plan));
  const now = await current();
  const state = await load();
  const needs = needsRaise(want, now);
  if (!needs) {
    // Enough already; if the raised values are ours, count this lab as a user so they stay.
    if (state && !state.labs.includes(key)) await writeJsonAtomic(file(), { ...state, labs: [...state.labs, key] });
    return undefined;
  }
  const applied = Object.fromEntries(NEIGH_KEYS.map((k) => [k, Math.max(want[k], now[k])]));
  await writeJsonAtomic(file(), {
    original: state?.original ?? now,
    labs: [...new Set([...(state?.labs ?? []), key])],
    applied,
  } satisfies NeighState);
  await apply(applied);
  const v4 = (n: number) => applied[`net.ipv4.neigh.default.gc_thresh${n}`];
  return `host setting: raised the kernel's neighbour table limits (net.ipv4/ipv6.neigh.default.gc_thresh1/2/3, shared by all namespaces) from ${now['net.ipv4.neigh.default.gc_thresh1']}/${now['net.ipv4.neigh.default.gc_thresh2']}/${now['net.ipv4.neigh.default.gc_thresh3']} to ${v4(1)}/${v4(2)}/${v4(3)} for this lab's ~${neighbourEntries(plan)} entries; the last \`lab down\` restores them (recorded in ${file()})`;
}

/** This lab no longer needs them: restore the originals once no lab does. Returns a sentence when restored. */
export async function releaseNeighbourLimits(key: string): Promise<string | undefined> {
  const state = await load();
  if (!state || !state.labs.includes(key)) return undefined;
  const labs = state.labs.filter((l) => l !== key);
  if (labs.length) {
    await writeJsonAtomic(file(), { ...state, labs });
    return undefined;
  }
  // Restore only what still holds our value: a setting someone changed since is theirs.
  const now = await current();
  const restore = Object.fromEntries(NEIGH_KEYS.map((k) => [k, now[k] === state.applied[k] ? state.original[k] : now[k]]));
  await apply(restore);
  await removeJson(file());
  return `host setting: restored the kernel's neighbour table limits (gc_thresh1/2/3) to ${restore['net.ipv4.neigh.default.gc_thresh1']}/${restore['net.ipv4.neigh.default.gc_thresh2']}/${restore['net.ipv4.neigh.default.gc_thresh3']}`;
}
