// The pods' TCP responders: ONE process per node (emulator-configs/responder.py) that
// opens every pod's listening sockets inside the pod's namespace and answers each
// connection with the pod's name. Tracked like the routing daemons (recorded PID and
// start time; `down` stops it).
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

/** Pure: what each node's responder serves (nodes without pods run none). */
export function responderConfigs(plan: Plan, dir: string): { device: string; config: ResponderConfig }[] {
  return plan.nodes.flatMap((node) => {
    const pods = plan.pods.filter((p) => p.node === node.name && p.ports.length);
    if (!pods.length) return [];
    return [{
      device: node.name,
      config: {
        ready: path.join(dir, `${node.name}.ready`),
        listeners: pods.map((p) => ({ name: p.name, netns: `/var/run/netns/${namespaceOf(plan.name, p.name)}`, ports: p.ports.map((x) => x.port) })),
      },
    }];
  });
}

/** Devices that run a responder (the state lists it among their daemons). */
export const responderDevices = (plan: Plan): Set<string> => new Set(responderConfigs(plan, '').map((r) => r.device));

export async function startResponders(store: StateStore, plan: Plan, signal?: AbortSignal): Promise<number> {
  const dir = path.join(labDir(plan.name), 'responders');
  const configs = responderConfigs(plan, dir);
  if (!configs.length) return 0;
  await mkdir(dir, { recursive: true });
  await settleAll(configs.map(async ({ device, config }) => {
    const file = path.join(dir, `${device}.json`);
    await writeFile(file, JSON.stringify(config, null, 2) + '\n');
    const ns = namespaceOf(plan.name, device);
    const started = await spawnDaemon(store, device, RESPONDER, ns, [PYTHON, RESPONDER_SCRIPT, file], signal);
    await waitForFile(config.ready, started, `the pod responder on ${device}`, path.join(labDir(plan.name), 'logs', `${device}.${RESPONDER}.log`), signal);
  }));
  return configs.reduce((n, c) => n + c.config.listeners.length, 0);
}
