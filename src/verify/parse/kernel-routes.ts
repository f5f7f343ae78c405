// Kernel routes from `ip -j route show` (iproute2 JSON): the forwarding truth. A route
// with several paths lists them under `nexthops`; iproute2 expands nexthop-group ids.

export interface KernelRoute {
  prefix: string;
  /** unicast, blackhole, unreachable... */
  type: string;
  protocol?: string;
  nextHops: Array<{ gateway?: string; dev?: string }>;
}

interface IpRouteJson {
  dst: string;
  type?: string;
  protocol?: string;
  gateway?: string;
  dev?: string;
  nexthops?: Array<{ gateway?: string; dev?: string }>;
}

export function parseKernelRoutes(json: string): KernelRoute[] {
  const rows = JSON.parse(json) as IpRouteJson[];
  return rows.map((r) => {
    const prefix = r.dst === 'default' ? '0.0.0.0/0' : r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    const type = r.type ?? 'unicast';
    const nextHops = r.nexthops?.map((h) => ({ gateway: h.gateway, dev: h.dev }))
      ?? (type === 'unicast' && (r.gateway || r.dev) ? [{ gateway: r.gateway, dev: r.dev }] : []);
    // One literal per shape, not a spread: a lab's tables hold tens of thousands of routes.
    return r.protocol ? { prefix, type, protocol: r.protocol, nextHops } : { prefix, type, nextHops };
  });
}

/** `via 172.16.0.4 dev swp2, via ...` (or the route type: blackhole...). */
export function describeNextHops(r: KernelRoute): string {
  if (r.type !== 'unicast') return r.type;
  return r.nextHops.map((h) => [h.gateway ? `via ${h.gateway}` : '', h.dev ? `dev ${h.dev}` : ''].filter(Boolean).join(' ')).join(', ');
}

export const describeRoute = (r: KernelRoute) => `${r.prefix} ${describeNextHops(r)}`;
