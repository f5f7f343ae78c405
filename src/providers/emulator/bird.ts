// BIRD configuration of a node (Calico BGP and IPIP modes), from emulator-configs/.
import type { KNode, Plan } from '../../plan/types.js';
import { renderTemplate } from '../../render/engine.js';

/** Calico's protocol names: `Mesh_<ip>` for the node-to-node mesh, `Node_<ip>` for explicit peers. */
export function birdProtocolName(plan: Plan, peerIp: string, peer: string): string {
  const mesh = plan.nodes.some((n) => n.name === peer);
  return `${mesh ? 'Mesh' : 'Node'}_${peerIp.replace(/\./g, '_')}`;
}

export function renderBirdConf(plan: Plan, node: KNode, logFile: string): string {
  const bgp = node.bgp;
  if (!bgp) throw new Error(`node ${node.name} has no BGP speaker in the plan`);
  return renderTemplate('emulator-configs/bird.conf.hbs', {
    node: node.name,
    logFile,
    routerId: bgp.routerId,
    asn: bgp.asn,
    allowLocalAs: bgp.allowLocalAs ?? null,
    timers: plan.bgpTimers.nodes,
    blocks: bgp.exports,
    services: bgp.serviceCidrs ?? [],
    // IPIP: Felix programs the tunnel routes, BIRD must not install pool routes.
    poolRoutesByFelix: plan.networking === 'ipip',
    poolSubnet: plan.cluster?.podSubnet ?? '0.0.0.0/0',
    neighbors: bgp.neighbors.map((n) => ({
      name: birdProtocolName(plan, n.ip, n.peer),
      description: n.description.replace(/"/g, "'"),
      ip: n.ip,
      remoteAsn: n.remoteAsn,
      sourceAddress: node.addr.ip,
    })),
  });
}
