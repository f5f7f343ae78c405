// Where to look when a check fails: the command that shows the same thing by hand, and
// the cable between two devices, named as the plan names their ports.
import type { Plan } from '../plan/types.js';

/** `lab exec LAB DEVICE -- CMD`, quoted as a user would type it. */
export const execHint = (lab: string, device: string, cmd: string) => `\`lab exec ${lab} ${device} -- ${cmd}\``;

export const showBgpSummary = (lab: string, sw: string) => execHint(lab, sw, `vtysh -c 'show bgp summary'`);
export const showBirdProtocols = (lab: string, node: string) => execHint(lab, node, 'birdc show protocols all');

/** `leaf1 swp1 <-> spine-sw1 swp1`, from either end; undefined when not directly cabled. */
export function linkBetween(plan: Plan, a: string, b: string): string | undefined {
  for (const sw of plan.switches) {
    for (const port of sw.ports) {
      if (sw.name === a && port.peer === b) return `${a} ${port.name} <-> ${b} ${port.peerIface}`;
      if (sw.name === b && port.peer === a) return `${a} ${port.peerIface} <-> ${b} ${port.name}`;
    }
  }
  return undefined;
}

const switchNames = new WeakMap<Plan['switches'], Set<string>>();
export function isSwitch(plan: Plan, device: string): boolean {
  let names = switchNames.get(plan.switches);
  if (!names) switchNames.set(plan.switches, names = new Set(plan.switches.map((s) => s.name)));
  return names.has(device);
}

export function nodeOfPod(plan: Plan, pod: string): string | undefined {
  return plan.pods.find((p) => p.name === pod)?.node;
}
