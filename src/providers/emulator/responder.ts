// The pods' TCP responders (emulator-configs/responder.py): a process that opens every
// pod's listening sockets inside the pod's namespace and answers each connection with the
// pod's name. One process serves the pods of up to RESPONDER_NODES nodes (a Python start
// per node was seconds of CPU in a 256-node lab); it is recorded for each node it serves,
// like the routing daemons (PID and start time; `down` stops it, `status` shows it per node).
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Plan } from '../../plan/types.js';
import { repoRoot } from '../../paths.js';
import { spawnDaemon, waitForFile } from './daemons.js';
import { labDir, namespaceOf } from './names.js';
import { settleAll } from './run.js';
import type { StateStore } from './state.js';

export const RESPONDER = 'responder';
export const RESPONDER_SCRIPT = path.join(repoRoot, 'emulator-configs', 'responder.py');
/** Debian's interpreter, not whatever python3 a user's PATH finds first. */
export const PYTHON = '/usr/bin/python3';

export interface ResponderConfig { ready: string; listeners: { name: string; netns: string; ports: number[] }[] }

/** Pure: what each node's responder serves (nodes without pods run none), and the outside host's. */
export function responderConfigs(plan: Plan, dir: string): { device: string; config: ResponderConfig }[] {
  const o = plan.outside;
  const outside = o ? [{
    device: o.name,
    config: { ready: path.join(dir, `${o.name}.ready`), listeners: [{ name: o.name, netns: `/var/run/netns/${namespaceOf(plan.name, o.name)}`, ports: [o.port] }] },
  }] : [];
  return [...outside, ...plan.nodes.flatMap((node) => {
    const pods = plan.pods.filter((p) => p.node === node.name && p.ports.length);
    if (!pods.length) return [];
    return [{
      device: node.name,
      config: {
        ready: path.join(dir, `${node.name}.ready`),
        listeners: pods.map((p) => ({ name: p.name, netns: `/var/run/netns/${namespaceOf(plan.name, p.name)}`, ports: p.ports.map((x) => x.port) })),
      },
    }];
  })];
}

/** Devices that run a responder (the state lists it among their daemons). */
export const responderDevices = (plan: Plan): Set<string> => new Set(responderConfigs(plan, '').map((r) => r.device));

/** Nodes whose pods one responder process serves. */
export const RESPONDER_NODES = 64;

export async function startResponders(store: StateStore, plan: Plan, signal?: AbortSignal): Promise<number> {
  const dir = path.join(labDir(plan.name), 'responders');
  const configs = responderConfigs(plan, dir);
  if (!configs.length) return 0;
  await mkdir(dir, { recursive: true });
  // The outside host's responder is its own (it is no node of the cluster).
  const nodes = configs.filter((c) => c.device !== plan.outside?.name);
  const groups: (typeof configs)[] = configs.filter((c) => c.device === plan.outside?.name).map((c) => [c]);
  for (let i = 0; i < nodes.length; i += RESPONDER_NODES) groups.push(nodes.slice(i, i + RESPONDER_NODES));
  await settleAll(groups.map(async (group) => {
    // Named after (and running in the namespace of) the group's first node.
    const [{ device, config }] = group;
    const file = path.join(dir, `${device}.json`);
    const merged: ResponderConfig = { ready: config.ready, listeners: group.flatMap((g) => g.config.listeners) };
    await writeFile(file, JSON.stringify(merged, null, 2) + '\n');
    const ns = namespaceOf(plan.name, device);
    const started = await spawnDaemon(store, device, RESPONDER, ns, [PYTHON, RESPONDER_SCRIPT, file], signal, group.slice(1).map((g) => g.device));
    const what = `the pod responder of ${group.length > 1 ? `${device} and ${group.length - 1} more nodes` : device}`;
    await waitForFile(config.ready, started, what, path.join(labDir(plan.name), 'logs', `${device}.${RESPONDER}.log`), signal);
  }));
  return configs.filter((c) => c.device !== plan.outside?.name).reduce((n, c) => n + c.config.listeners.length, 0);
}
