// plan(): Lab -> Plan. Pure and deterministic: no I/O, no clocks, no randomness.
import type { Lab } from '../lab/types.js';
import type { Plan } from './types.js';
import { planSwitches, fabricDesign, RACK_PEER_GROUP } from './fabric.js';
import { placeNodes, planNodes, planPods } from './cluster.js';
import { podNetworking } from '../lab/types.js';
import { planIntent } from './intent.js';
import { planNamespaces, planServices } from './services.js';
import { planTimers } from './timers.js';
import { outsideRoutes, planOutside } from './outside.js';

export type { Plan } from './types.js';

export function plan(lab: Lab): Plan {
  const networking = podNetworking(lab);
  const attachments = placeNodes(lab);
  const { switches, links } = planSwitches(lab, attachments);
  const leafAsn = new Map(lab.fabric?.leaves.map((l) => [l.name, l.asn]) ?? []);
  const nodes = planNodes(lab, attachments, leafAsn);
  const { pods, links: podLinks } = planPods(lab, nodes);
  const calico = lab.cni?.plugin === 'calico' ? lab.cni.calico : undefined;

  if (networking === 'bgp') {
    // Leaves accept their rack's nodes dynamically (DESIGN 3.3): nodes can come and go
    // without touching the switch config.
    const perRack = new Map<string, number>();
    for (const n of nodes) perRack.set(n.rack!, (perRack.get(n.rack!) ?? 0) + 1);
    const asPerRack = calico!.peering === 'as-per-rack';
    lab.fabric!.leaves.forEach((leaf) => {
      const sw = switches.find((s) => s.name === leaf.name)!;
      sw.bgp!.listen = {
        peerGroup: RACK_PEER_GROUP, range: leaf.rack,
        remoteAs: asPerRack ? sw.bgp!.asn : 'external', routeReflectorClient: asPerRack, nextHopSelf: true,
        expectedPeers: perRack.get(leaf.name) ?? 0, routesToNodes: calico!.routesToNodes,
      };
    });
  }

  const outside = planOutside(lab, switches);
  const intent = planIntent(lab, networking, switches, nodes, pods);
  intent.routes.push(...outsideRoutes(switches, outside));

  const k8s = lab.kubernetes;
  return {
    name: lab.name,
    description: lab.description,
    file: lab.file,
    underlay: lab.fabric ? 'fabric' : 'lan',
    ...(lab.fabric ? { design: fabricDesign(lab) } : {}),
    networking,
    ...(networking === 'bgp' ? { peering: calico!.peering } : {}),
    switches,
    nodes,
    pods,
    namespaces: planNamespaces(lab),
    services: planServices(lab, pods),
    links: [...links, ...podLinks],
    ...(outside ? { outside } : {}),
    ...(k8s && lab.cni ? {
      cluster: {
        version: k8s.version, podSubnet: k8s.podSubnet, serviceSubnet: k8s.serviceSubnet,
        natOutgoing: calico ? calico.natOutgoing : lab.cni.plugin === 'bridge' && lab.cni.bridge.masquerade,
        ...(calico ? { blockSize: calico.blockSize, asNumber: calico.asNumber } : {}),
        ...(calico?.mode === 'vxlan' ? { vxlan: { vni: calico.vxlanVNI, port: calico.vxlanPort } } : {}),
        controlPlane: k8s.nodes.find((n) => n.role === 'control-plane')?.name ?? k8s.nodes[0].name,
      },
    } : {}),
    bgpTimers: planTimers(lab),
    intent,
    lab,
  };
}
