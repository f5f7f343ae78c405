// What an exercise breaks, as the real commands that break it and the real commands
// that fix it (what a student would type after finding the problem). Pure: steps are
// computed from the plan; the CLI runs them through the provider's exec on the copy.
// Several kinds stand in for primitives other parts of the tool will own (`lab fault`
// for links, `lab policy` for NetworkPolicy): when those land, these steps can call them.
import path from 'node:path';
import type { Plan } from '../plan/types.js';
import { remoteBlocks } from '../plan/cluster.js';
import { renderBirdConf } from '../providers/emulator/bird.js';
import { labDir } from '../providers/emulator/names.js';

/** One command on one device of the running copy; `input` goes to its stdin. */
export interface Step { device: string; argv: string[]; input?: string }

export type Break =
  | { kind: 'link-down'; a: string; b: string }
  | { kind: 'vxlan-vni'; node: string; vni: number }
  | { kind: 'bgp-peer-missing'; rack: string }
  | { kind: 'route-missing'; node: string; prefix: string }
  | { kind: 'masquerade-off'; node: string }
  | { kind: 'policy-deny'; namespace: string; name: string };

export const breakKinds = ['link-down', 'vxlan-vni', 'bgp-peer-missing', 'route-missing', 'masquerade-off', 'policy-deny'] as const;

/** The switch ports (or node eth0) at both ends of the cable between a and b. */
export function cable(plan: Plan, a: string, b: string): { a: string; aIface: string; b: string; bIface: string } | undefined {
  for (const sw of plan.switches) {
    for (const port of sw.ports) {
      if (sw.name === a && port.peer === b) return { a, aIface: port.name, b, bIface: port.peerIface };
      if (sw.name === b && port.peer === a) return { a, aIface: port.peerIface, b, bIface: port.name };
    }
  }
  return undefined;
}

/** Why a break cannot apply to this plan (for positioned errors), or undefined. */
export function breakProblem(plan: Plan, b: Break): { field: string; message: string } | undefined {
  const node = (n: string) => plan.nodes.find((x) => x.name === n);
  const names = (xs: { name: string }[]) => xs.map((x) => x.name).join(', ');
  switch (b.kind) {
    case 'link-down':
      return cable(plan, b.a, b.b) ? undefined : { field: 'b', message: `no cable between ${b.a} and ${b.b} in lab ${plan.name}` };
    case 'vxlan-vni':
      if (!node(b.node)) return { field: 'node', message: `no node "${b.node}" in lab ${plan.name} (nodes: ${names(plan.nodes)})` };
      if (plan.networking !== 'vxlan') return { field: 'node', message: `lab ${plan.name} is ${plan.networking}, not Calico VXLAN` };
      return b.vni === plan.cluster?.vxlan?.vni ? { field: 'vni', message: `${b.vni} is the lab's own VNI: nothing would break` } : undefined;
    case 'bgp-peer-missing': {
      if (plan.networking !== 'bgp' || plan.underlay !== 'fabric') return { field: 'rack', message: `lab ${plan.name} is not Calico BGP peered with a fabric` };
      const leaves = plan.switches.filter((s) => s.kind === 'leaf');
      if (!leaves.some((l) => l.name === b.rack)) return { field: 'rack', message: `no rack "${b.rack}" (racks: ${names(leaves)})` };
      return plan.nodes.some((n) => n.rack === b.rack && n.bgp) ? undefined : { field: 'rack', message: `rack ${b.rack} has no nodes` };
    }
    case 'route-missing': {
      const n = node(b.node);
      if (!n) return { field: 'node', message: `no node "${b.node}" in lab ${plan.name} (nodes: ${names(plan.nodes)})` };
      if (plan.networking !== 'bridge') return { field: 'node', message: `lab ${plan.name} is ${plan.networking}: static routes exist only with the bridge CNI` };
      const routes = remoteBlocks(plan.nodes, n);
      return routes.some((r) => r.block === b.prefix) ? undefined
        : { field: 'prefix', message: `${b.node} has no static route to ${b.prefix} (its routes: ${routes.map((r) => r.block).join(', ')})` };
    }
    case 'masquerade-off':
      if (!node(b.node)) return { field: 'node', message: `no node "${b.node}" in lab ${plan.name} (nodes: ${names(plan.nodes)})` };
      return masquerades(plan) ? undefined : { field: 'node', message: `lab ${plan.name} does not masquerade (bridge masquerade / Calico natOutgoing off)` };
    case 'policy-deny':
      if (plan.networking === 'bridge') return { field: 'namespace', message: 'policies need a Calico lab (the bridge CNI enforces none)' };
      return plan.pods.some((p) => p.namespace === b.namespace) ? undefined
        : { field: 'namespace', message: `no pods in namespace "${b.namespace}" (namespaces: ${[...new Set(plan.pods.map((p) => p.namespace))].join(', ')})` };
  }
}

const masquerades = (plan: Plan) => plan.networking === 'bridge' ? (plan.lab.cni as { bridge?: { masquerade?: boolean } } | undefined)?.bridge?.masquerade !== false : !!plan.cluster?.natOutgoing;

function masqueradeRule(plan: Plan): string[] {
  const pool = plan.cluster!.podSubnet;
  return ['POSTROUTING', '-s', pool, '!', '-d', pool, '-j', 'MASQUERADE'];
}

/** Chain a default-deny ingress policy of one namespace is enforced in, on every node. */
const policyChain = (b: { namespace: string; name: string }) => `cali-pi-${b.namespace}-${b.name}`.slice(0, 28);

/** BIRD config of a node as calico-node renders it, optionally without the peers to `without`. */
function birdConf(plan: Plan, key: string, nodeName: string, without?: string): Step[] {
  const node = plan.nodes.find((n) => n.name === nodeName)!;
  const dir = path.join(labDir(key), 'bird');
  const bgp = node.bgp!;
  const shown = without ? { ...node, bgp: { ...bgp, neighbors: bgp.neighbors.filter((n) => n.peer !== without) } } : node;
  const conf = renderBirdConf(plan, shown, path.join(dir, `${node.name}.log`));
  return [
    { device: node.name, argv: ['tee', path.join(dir, `${node.name}.conf`)], input: conf },
    { device: node.name, argv: ['birdc', 'configure'] },
  ];
}

/**
 * vxlan.calico of a node rebuilt with another VNI (the kernel cannot change the VNI of a
 * device): what Felix would program, with `vni` in place of the pool's.
 */
function vxlanDevice(plan: Plan, nodeName: string, vni: number): Step[] {
  const node = plan.nodes.find((n) => n.name === nodeName)!;
  const v = node.vtep!;
  const remotes = remoteBlocks(plan.nodes, node).filter((r) => r.vtep);
  const ip = [
    `link del ${v.device}`,
    `link add name ${v.device} address ${v.mac} mtu ${v.mtu} type vxlan id ${vni} local ${node.addr.ip} dev eth0 dstport ${v.port} nolearning`,
    `addr add ${v.ip}/32 dev ${v.device}`,
    `link set ${v.device} up`,
    ...remotes.flatMap((r) => [`neigh add ${r.vtep!.ip} lladdr ${r.vtep!.mac} dev ${v.device} nud permanent`, `route add ${r.block} via ${r.vtep!.ip} dev ${v.device} onlink proto 80`]),
  ];
  const fdb = remotes.map((r) => `fdb add ${r.vtep!.mac} dev ${v.device} dst ${r.nodeIp} self permanent`);
  return [
    { device: nodeName, argv: ['ip', '-batch', '-'], input: ip.join('\n') + '\n' },
    { device: nodeName, argv: ['bridge', '-batch', '-'], input: fdb.join('\n') + '\n' },
  ];
}

/** Commands that apply the break to a running copy (key: its emulator key). */
export function breakSteps(plan: Plan, key: string, b: Break): Step[] {
  switch (b.kind) {
    case 'link-down': {
      const c = cable(plan, b.a, b.b)!;
      return [{ device: c.a, argv: ['ip', 'link', 'set', c.aIface, 'down'] }, { device: c.b, argv: ['ip', 'link', 'set', c.bIface, 'down'] }];
    }
    case 'vxlan-vni':
      return vxlanDevice(plan, b.node, b.vni);
    case 'bgp-peer-missing':
      return plan.nodes.filter((n) => n.rack === b.rack && n.bgp).flatMap((n) => birdConf(plan, key, n.name, b.rack));
    case 'route-missing':
      return [{ device: b.node, argv: ['ip', 'route', 'del', b.prefix] }];
    case 'masquerade-off':
      return [{ device: b.node, argv: ['iptables', '-t', 'nat', '-D', ...masqueradeRule(plan)] }];
    case 'policy-deny': {
      // Felix-style: a per-policy chain, jumped to for traffic towards the namespace's pods.
      const chain = policyChain(b);
      return plan.nodes.map((n) => {
        const pods = plan.pods.filter((p) => p.node === n.name && p.namespace === b.namespace);
        const rules = [`:${chain} - [0:0]`, `-A ${chain} -j DROP`, ...pods.map((p) => `-I FORWARD -o ${p.hostIface} -j ${chain}`)];
        return { device: n.name, argv: ['iptables-restore', '--noflush'], input: `*filter\n${rules.join('\n')}\nCOMMIT\n` };
      });
    }
  }
}

/** The intended fix: what a student types once they found the problem. */
export function fixSteps(plan: Plan, key: string, b: Break): Step[] {
  switch (b.kind) {
    case 'link-down':
      return breakSteps(plan, key, b).map((s) => ({ ...s, argv: s.argv.map((a) => (a === 'down' ? 'up' : a)) }));
    case 'vxlan-vni':
      return vxlanDevice(plan, b.node, plan.cluster!.vxlan!.vni);
    case 'bgp-peer-missing':
      return plan.nodes.filter((n) => n.rack === b.rack && n.bgp).flatMap((n) => birdConf(plan, key, n.name));
    case 'route-missing': {
      const r = remoteBlocks(plan.nodes, plan.nodes.find((n) => n.name === b.node)!).find((x) => x.block === b.prefix)!;
      return [{ device: b.node, argv: ['ip', 'route', 'add', b.prefix, 'via', r.nodeIp] }];
    }
    case 'masquerade-off':
      return [{ device: b.node, argv: ['iptables', '-t', 'nat', '-A', ...masqueradeRule(plan)] }];
    case 'policy-deny': {
      const chain = policyChain(b);
      return plan.nodes.map((n) => {
        const pods = plan.pods.filter((p) => p.node === n.name && p.namespace === b.namespace);
        const script = [...pods.map((p) => `iptables -D FORWARD -o ${p.hostIface} -j ${chain}`), `iptables -F ${chain}`, `iptables -X ${chain}`].join(' && ');
        return { device: n.name, argv: ['sh', '-c', script] };
      });
    }
  }
}
