// The outside host (lab file `outside:`): a host beyond the cluster, cabled to a routed
// port of the border switch (a leaf of the fabric, or the LAN switch), so that pods'
// traffic leaving the pod network and natOutgoing/masquerade can be seen, and (BGP mode)
// a client outside the cluster can reach a Service. The border switch takes the first
// host of `outside.subnet`, the outside host the second; a border leaf advertises the
// subnet into the fabric (`network`), the LAN switch simply routes it. Pure.
import type { Lab } from '../lab/types.js';
import type { OutsideHost, RouteIntent, Switch } from './types.js';
import { nthAddress, parseCidr } from './ip.js';
import { fabricVia } from './intent.js';

export function planOutside(lab: Lab, switches: Switch[]): OutsideHost | undefined {
  const o = lab.outside;
  if (!o) return undefined;
  const border = switches.find((s) => s.name === o.via) ?? switches.find((s) => s.kind === 'lan-switch')!;
  const prefixLen = parseCidr(o.subnet).prefixLen;
  const port = `swp${border.ports.length + 1}`;
  const gateway = nthAddress(o.subnet, 1);
  // A border leaf makes the subnet known to the whole fabric, as it does its rack.
  border.bgp?.networks.push(o.subnet);
  return {
    name: o.name,
    attachedTo: border.name,
    subnet: o.subnet,
    switchPort: { name: port, addr: { ip: gateway, prefixLen } },
    iface: 'eth0',
    addr: { ip: nthAddress(o.subnet, 2), prefixLen },
    gateway,
    port: o.port,
  };
}

/**
 * Every BGP switch routes the outside subnet: the border leaf has it connected, a spine
 * learns it from the border leaf only, another leaf over every spine (valley-free, as
 * its racks).
 */
export function outsideRoutes(switches: Switch[], outside: OutsideHost | undefined): RouteIntent[] {
  if (!outside) return [];
  const border = switches.find((s) => s.name === outside.attachedTo)!;
  return switches.filter((s) => s.bgp).map((s) => {
    if (s === border) return { device: s.name, prefix: outside.subnet, present: true, why: `${s.name} is the border switch: the outside host is cabled to its ${outside.switchPort.name}` };
    const via = fabricVia(s, border);
    return { device: s.name, prefix: outside.subnet, present: true, nextHops: via.length, via, why: `outside subnet, advertised by the border leaf ${border.name}` };
  });
}
