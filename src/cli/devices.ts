// DEVICE arguments of exec, shell and capture, checked against the plan before anything
// runs: typos get "did you mean", and a routing CLI aimed at a device that runs another
// daemon (or none) says what runs there and what to type instead. Pure.
import type { Plan } from '../plan/types.js';
import { badInput } from '../errors.js';
import { didYouMean } from './suggest.js';

const POD_LIST_MAX = 6;

/** The device an argument names: exact, else a unique prefix (pod names are long). */
export function resolveDevice(plan: Plan, name: string): string {
  const all = [...plan.switches.map((s) => s.name), ...plan.nodes.map((n) => n.name), ...plan.pods.map((p) => p.name), ...(plan.outside ? [plan.outside.name] : [])];
  if (all.includes(name)) return name;
  const prefixed = all.filter((d) => d.startsWith(name));
  if (prefixed.length === 1) return prefixed[0];
  if (prefixed.length > 1) {
    throw badInput(`device "${name}" is ambiguous in lab ${plan.name}: ${prefixed.join(', ')}`);
  }
  const pods = plan.pods.map((p) => p.name);
  const lines = [
    `no device "${name}" in lab ${plan.name};${didYouMean(name, all) || ' its devices are:'}`,
    `  switches: ${plan.switches.map((s) => s.name).join(', ')}`,
    ...(plan.nodes.length ? [`  nodes:    ${plan.nodes.map((n) => n.name).join(', ')}`] : []),
    ...(pods.length ? [`  pods:     ${pods.length <= POD_LIST_MAX ? pods.join(', ') : `${pods.length} (a unique prefix is enough): lab pods ${plan.name}`}`] : []),
    ...(plan.outside ? [`  outside:  ${plan.outside.name}`] : []),
  ];
  throw badInput(lines.join('\n'));
}

/**
 * When argv starts with vtysh or birdc and the device does not run that daemon: what runs
 * there and the command to use instead. Undefined when the command fits the device.
 */
export function wrongDaemon(plan: Plan, device: string, argv: string[]): string | undefined {
  const cmd = (argv[0] ?? '').split('/').pop();
  if (cmd !== 'vtysh' && cmd !== 'birdc' && cmd !== 'birdcl') return undefined;
  const lab = plan.name;
  const sw = plan.switches.find((s) => s.name === device);
  const node = plan.nodes.find((n) => n.name === device);
  const pod = plan.pods.find((p) => p.name === device);
  const frrSwitch = plan.switches.find((s) => s.bgp)?.name;
  const birdNode = plan.nodes.find((n) => n.bgp)?.name;
  const useVtysh = frrSwitch ? `; FRR runs on the switches: lab exec ${lab} ${frrSwitch} -- vtysh -c 'show bgp summary'` : '';
  const useBirdc = birdNode ? `; BIRD runs on the nodes: lab exec ${lab} ${birdNode} -- birdc show protocols` : '';
  if (sw && !sw.bgp) {
    return `${device} is the LAN switch of a flat-LAN lab: a plain Linux bridge with the gateway address, it runs no routing daemon (no FRR, no BIRD). `
      + `Look at it with: lab exec ${lab} ${device} -- bridge link${useBirdc}`;
  }
  if (sw) {
    return cmd === 'vtysh' ? undefined
      : `${device} is a ${sw.kind} switch: it runs FRR (zebra + bgpd), not BIRD. Use vtysh: lab exec ${lab} ${device} -- vtysh -c 'show bgp summary'`;
  }
  if (node) {
    if (cmd !== 'vtysh' && node.bgp) return undefined;
    if (node.bgp) {
      return `${device} is a Kubernetes node: its BGP speaker is BIRD (as in calico-node), not FRR. Use birdc: lab exec ${lab} ${device} -- birdc show protocols${useVtysh}`;
    }
    const why = plan.networking === 'vxlan' ? 'Calico VXLAN mode runs no BGP on nodes (calico_backend: vxlan)'
      : plan.networking === 'bridge' ? 'the bridge CNI routes with static routes, no BGP'
        : 'this lab has no cluster networking';
    return `${device} is a Kubernetes node and runs no routing daemon: ${why}. Its routes: lab exec ${lab} ${device} -- ip route${useVtysh}${useBirdc}`;
  }
  if (pod) {
    return `${device} is a pod: it runs no routing daemon. Its routes: lab exec ${lab} ${device} -- ip route; its node is ${pod.node}${useVtysh}${useBirdc}`;
  }
  return undefined;
}

/**
 * A whole command passed as one quoted argument ("vtysh -c 'show bgp summary'") split as a
 * shell would: words, '...' and "..." quoting, backslash escapes. Undefined when the
 * argument is not such a string (one word) or its quotes do not close.
 */
export function splitCommandString(argv: string[]): string[] | undefined {
  if (argv.length !== 1 || !/\s/.test(argv[0].trim())) return undefined;
  const words: string[] = [];
  let cur: string | undefined;
  let quote: '"' | "'" | undefined;
  const s = argv[0];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (ch === quote) quote = undefined;
      else if (ch === '\\' && quote === '"' && i + 1 < s.length) cur = (cur ?? '') + s[++i];
      else cur = (cur ?? '') + ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      cur = cur ?? '';
    } else if (ch === '\\' && i + 1 < s.length) {
      cur = (cur ?? '') + s[++i];
    } else if (/\s/.test(ch)) {
      if (cur !== undefined) words.push(cur);
      cur = undefined;
    } else {
      cur = (cur ?? '') + ch;
    }
  }
  if (quote) return undefined;
  if (cur !== undefined) words.push(cur);
  return words;
}
