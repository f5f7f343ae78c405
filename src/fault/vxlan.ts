// Pure: a shell script that rebuilds a node's vxlan.calico with another VNI. The kernel
// cannot change a VXLAN device's id in place, so the device is deleted and created again
// with everything Felix had put on it (address, MAC, MTU, routes, neighbours, FDB),
// read from the node just before (`VXLAN_READ`).

export const VXLAN_DEV = 'vxlan.calico';
/** One exec on the node; sections split by SECTION lines. */
export const SECTION = '--fabric-lab-section--';
export const VXLAN_READ = ['sh', '-c', [
  `ip -j -d link show dev ${VXLAN_DEV}`, `ip -j addr show dev ${VXLAN_DEV}`, `ip -j route show dev ${VXLAN_DEV}`,
  `ip -j neigh show dev ${VXLAN_DEV}`, `bridge -j fdb show dev ${VXLAN_DEV}`,
].join(`; echo ${SECTION}; `)];

interface LinkJson { mtu: number; address: string; linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; link?: string; port?: number; learning?: boolean } } }
interface AddrJson { addr_info?: { family: string; local: string; prefixlen: number }[] }
interface RouteJson { dst: string; gateway?: string; protocol?: string; flags?: string[]; scope?: string }
interface NeighJson { dst: string; lladdr?: string; state?: string[] }
interface FdbJson { mac: string; dst?: string; flags?: string[] }

export interface VxlanSnapshot { vni: number; script: (vni: number) => string }

/** Parse VXLAN_READ's output; throws with a readable message when the device is not there. */
export function vxlanSnapshot(stdout: string): VxlanSnapshot {
  const parts = stdout.split(SECTION).map((s) => s.trim());
  const parse = <T>(i: number): T[] => (parts[i] ? JSON.parse(parts[i]) as T[] : []);
  const link = parse<LinkJson>(0)[0];
  const data = link?.linkinfo?.info_data;
  if (!link || link.linkinfo?.info_kind !== 'vxlan' || data?.id === undefined || !data.local) throw new Error(`no VXLAN device ${VXLAN_DEV} on this node`);
  const addrs = parse<AddrJson>(1).flatMap((a) => a.addr_info ?? []).filter((a) => a.family === 'inet');
  const routes = parse<RouteJson>(2);
  const neighs = parse<NeighJson>(3).filter((n) => n.lladdr);
  const fdb = parse<FdbJson>(4).filter((f) => f.dst && f.flags?.includes('self'));
  const script = (vni: number) => [
    'set -e',
    `ip link del ${VXLAN_DEV}`,
    `ip link add ${VXLAN_DEV} type vxlan id ${vni} local ${data.local}${data.link ? ` dev ${data.link}` : ''} dstport ${data.port ?? 4789}${data.learning ? '' : ' nolearning'}`,
    `ip link set ${VXLAN_DEV} address ${link.address} mtu ${link.mtu}`,
    ...addrs.map((a) => `ip addr add ${a.local}/${a.prefixlen} dev ${VXLAN_DEV}`),
    `ip link set ${VXLAN_DEV} up`,
    ...neighs.map((n) => `ip neigh replace ${n.dst} lladdr ${n.lladdr} dev ${VXLAN_DEV} nud permanent`),
    ...fdb.map((f) => `bridge fdb append ${f.mac} dev ${VXLAN_DEV} dst ${f.dst} self permanent`),
    ...routes.map((r) => `ip route replace ${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${VXLAN_DEV}${r.flags?.includes('onlink') ? ' onlink' : ''}${r.protocol && r.protocol !== 'kernel' ? ` proto ${r.protocol}` : ''}${r.scope && r.scope !== 'universe' && !r.gateway ? ` scope ${r.scope}` : ''}`),
  ].join('\n');
  return { vni: data.id, script };
}
