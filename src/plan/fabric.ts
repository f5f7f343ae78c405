// The underlay: switches, their ports and addresses, cables, and BGP between them
// (DESIGN 3.1). On a flat LAN the underlay is one L2 switch with the gateway address.
import type { Lab } from '../lab/types.js';
import type { Link, Switch, BgpNeighbor, FabricDesign } from './types.js';
import { nthAddress, nthSubnet, parseCidr } from './ip.js';
import { LAN_SWITCH_NAME as LAN_SWITCH } from '../lab/checks.js';

/** A node cabled to a switch port, as placed by the cluster stage. */
export interface Attachment { node: string; switchName: string; ip: string; prefixLen: number }

export { LAN_SWITCH_NAME as LAN_SWITCH } from '../lab/checks.js';
export const RACK_BRIDGE = 'br0';
export const RACK_PEER_GROUP = 'RACK';

/** The /31 between spine s and leaf l: number s*L + l of p2p; spine even, leaf odd. */
export function p2pAddresses(lab: Lab, s: number, l: number): { spine: string; leaf: string } {
  const f = lab.fabric!;
  const net = nthSubnet(f.addressing.p2p, 31, s * f.leaves.length + l);
  return { spine: nthAddress(net, 0), leaf: nthAddress(net, 1) };
}

export const spineLoopback = (lab: Lab, s: number) => nthAddress(lab.fabric!.addressing.loopback, 1 + s);
export const leafLoopback = (lab: Lab, l: number) => nthAddress(lab.fabric!.addressing.loopback, 101 + l);

/** Which switches share an AS (validation allows all spines in one AS, and leaves sharing among themselves). */
export function fabricDesign(lab: Lab): FabricDesign {
  const f = lab.fabric!;
  const spineAsns = new Set(f.spines.map((s) => s.asn));
  const count = new Map<number, number>();
  for (const l of f.leaves) count.set(l.asn, (count.get(l.asn) ?? 0) + 1);
  return {
    ...(f.spines.length > 1 && spineAsns.size === 1 ? { spineAsn: f.spines[0].asn } : {}),
    sharedLeafAsns: [...count].filter(([, n]) => n > 1).map(([asn]) => asn),
  };
}

/** One sentence for `lab show`. */
export function describeDesign(d: FabricDesign): string {
  const spines = d.spineAsn !== undefined ? `spines share AS ${d.spineAsn} (RFC 7938: no path crosses two spines)` : 'every spine its own AS';
  const leaves = d.sharedLeafAsns.length ? `leaves share AS ${d.sharedLeafAsns.join(', ')} (allowas-in 1 from the spines)` : 'every leaf its own AS';
  return `${spines}; ${leaves}`;
}

export function planSwitches(lab: Lab, attachments: Attachment[]): { switches: Switch[]; links: Link[] } {
  return lab.fabric ? planFabric(lab, attachments) : planLan(lab, attachments);
}

function planFabric(lab: Lab, attachments: Attachment[]): { switches: Switch[]; links: Link[] } {
  const f = lab.fabric!;
  const S = f.spines.length;
  const links: Link[] = [];
  const spines: Switch[] = f.spines.map((sp, s) => ({
    name: sp.name, kind: 'spine', os: f.os, loopback: spineLoopback(lab, s), ports: [],
    bgp: { asn: sp.asn, routerId: spineLoopback(lab, s), neighbors: [], networks: [`${spineLoopback(lab, s)}/32`] },
  }));
  const shared = new Set(fabricDesign(lab).sharedLeafAsns);
  const leaves: Switch[] = f.leaves.map((lf, l) => {
    const rack = parseCidr(lf.rack);
    return {
      name: lf.name, kind: 'leaf', os: f.os, loopback: leafLoopback(lab, l), ports: [],
      bridge: { name: RACK_BRIDGE, addr: { ip: nthAddress(lf.rack, 1), prefixLen: rack.prefixLen }, members: [] },
      bgp: {
        asn: lf.asn, routerId: leafLoopback(lab, l), neighbors: [], networks: [lf.rack, `${leafLoopback(lab, l)}/32`],
        // Routes of the other racks arrive with this AS in their path (spine, then the leaf).
        ...(shared.has(lf.asn) ? { allowasIn: 1 } : {}),
      },
    };
  });
  f.spines.forEach((sp, s) => f.leaves.forEach((lf, l) => {
    const { spine: spIp, leaf: lfIp } = p2pAddresses(lab, s, l);
    const spPort = `swp${l + 1}`;
    const lfPort = `swp${s + 1}`;
    spines[s].ports.push({ name: spPort, peer: lf.name, peerIface: lfPort, addr: { ip: spIp, prefixLen: 31 } });
    leaves[l].ports.push({ name: lfPort, peer: sp.name, peerIface: spPort, addr: { ip: lfIp, prefixLen: 31 } });
    spines[s].bgp!.neighbors.push(neighbor(lfIp, lf.asn, lf.name, spPort));
    leaves[l].bgp!.neighbors.push(neighbor(spIp, sp.asn, sp.name, lfPort));
    links.push({ kind: 'fabric', a: { device: sp.name, iface: spPort, addr: { ip: spIp, prefixLen: 31 } }, b: { device: lf.name, iface: lfPort, addr: { ip: lfIp, prefixLen: 31 } } });
  }));
  for (const leaf of leaves) {
    const here = attachments.filter((a) => a.switchName === leaf.name);
    here.forEach((a, k) => {
      const port = `swp${S + 1 + k}`;
      leaf.ports.push({ name: port, peer: a.node, peerIface: 'eth0' });
      leaf.bridge!.members.push(port);
      links.push({ kind: 'access', a: { device: leaf.name, iface: port }, b: { device: a.node, iface: 'eth0', addr: { ip: a.ip, prefixLen: a.prefixLen } } });
    });
  }
  return { switches: [...spines, ...leaves], links };
}

function planLan(lab: Lab, attachments: Attachment[]): { switches: Switch[]; links: Link[] } {
  const lan = lab.lan!;
  const sw: Switch = {
    name: LAN_SWITCH, kind: 'lan-switch', os: 'frr', ports: [],
    bridge: { name: RACK_BRIDGE, addr: { ip: lan.gateway, prefixLen: parseCidr(lan.subnet).prefixLen }, members: [] },
  };
  const links: Link[] = attachments.map((a, k) => {
    const port = `swp${k + 1}`;
    sw.ports.push({ name: port, peer: a.node, peerIface: 'eth0' });
    sw.bridge!.members.push(port);
    return { kind: 'access', a: { device: sw.name, iface: port }, b: { device: a.node, iface: 'eth0', addr: { ip: a.ip, prefixLen: a.prefixLen } } };
  });
  return { switches: [sw], links };
}

export function neighbor(ip: string, remoteAsn: number, peer: string, iface: string): BgpNeighbor {
  return { ip, remoteAsn, peer, iface, description: peer };
}
