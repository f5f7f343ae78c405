// `lab trace`: the path of one packet, hop by hop, decided by the running lab's own
// tables. Pure: the tables come in as snapshots (addresses, links, neighbours, FDB,
// routes per device) and an oracle that asks a device's kernel (`ip route get`) and FRR
// (`show ip route X json`); the plan only says which port is cabled to which.
import type { Plan } from '../plan/types.js';

export interface DeviceSnapshot {
  /** IPv4 addresses per interface. */
  addrs: { iface: string; ip: string; prefixLen: number }[];
  links: { iface: string; up: boolean; mac: string; master?: string; vxlan?: { vni: number; port: number; local?: string; ttl: number } }[];
  neigh: { ip: string; iface: string; mac?: string; state: string }[];
  fdb: { mac: string; iface: string; dst?: string; master?: string }[];
  routes: KernelRoute[];
  hashPolicy?: number;
}

export interface KernelRoute { dst: string; type?: string; gateway?: string; dev?: string; protocol?: string; nexthops?: { gateway?: string; dev?: string }[] }

/** `ip -j route get` of one flow: the kernel's choice, or why there is none. */
export type RouteGet = { ok: true; type?: string; gateway?: string; dev?: string; prefsrc?: string } | { ok: false; error: string };

export interface FrrRoute { prefix: string; protocol: string; nexthops: { ip?: string; iface?: string; active: boolean }[] }

export interface Oracle {
  routeGet(device: string, q: { dst: string; src: string; iif?: string; proto: Flow['proto']; sport?: number; dport?: number }): Promise<RouteGet>;
  /** FRR's route for an address on a switch (undefined on nodes, or when FRR cannot answer). */
  frrRoute(device: string, dst: string): Promise<FrrRoute | undefined>;
}

export interface Flow { src: string; dst: string; proto: 'icmp' | 'udp' | 'tcp'; sport?: number; dport?: number }

export interface Encap { type: 'vxlan'; vni: number; port: number; outerSrc: string; outerDst: string; decap?: boolean }

export interface Hop {
  device: string;
  in: string | null;
  out: string | null;
  route: { prefix: string; protocol: string; from?: string } | null;
  nextHops: string[];
  chosen: string | null;
  encap: Encap | null;
  /** TTL of the packet the device routes, as it leaves (the outer header's inside a tunnel; at the destination, as it arrives). */
  ttl: number;
  /** Inner TTL while encapsulated. */
  innerTtl?: number;
  neighbour?: { ip: string; mac?: string; state: string; port?: string };
  notes: string[];
}

export interface Trace {
  from: string;
  to: string;
  delivered: boolean;
  hops: Hop[];
  stoppedBecause: string | null;
  flow: Flow;
}

const ipNum = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
export function inPrefix(ip: string, prefix: string): boolean {
  if (prefix === 'default') return true;
  const [net, len] = prefix.includes('/') ? prefix.split('/') : [prefix, '32'];
  const l = Number(len);
  const size = 2 ** (32 - l);
  return Math.floor(ipNum(ip) / size) === Math.floor(ipNum(net) / size);
}
const prefixLen = (p: string) => (p === 'default' ? 0 : p.includes('/') ? Number(p.split('/')[1]) : 32);

/** Longest-prefix match in the kernel's main table (first route of the best length, as the kernel lists them by metric). */
export function lookup(routes: KernelRoute[], ip: string): KernelRoute | undefined {
  let best: KernelRoute | undefined;
  for (const r of routes) if (inPrefix(ip, r.dst) && (!best || prefixLen(r.dst) > prefixLen(best.dst))) best = r;
  return best;
}

const PROTOCOLS: Record<string, string> = { '80': 'calico (felix)', '186': 'bgp', '12': 'bird', bird: 'bgp (bird)', kernel: 'connected', boot: 'static', static: 'static' };

/** Which device and port sits at the far end of a cable (the plan's cabling). */
function cabling(plan: Plan): Map<string, { device: string; iface: string }> {
  const m = new Map<string, { device: string; iface: string }>();
  for (const l of plan.links) {
    m.set(`${l.a.device}/${l.a.iface}`, l.b);
    m.set(`${l.b.device}/${l.b.iface}`, l.a);
  }
  // The outside host's cable (not among plan.links: only the emulator builds it).
  const o = plan.outside;
  if (o) {
    m.set(`${o.attachedTo}/${o.switchPort.name}`, { device: o.name, iface: o.iface });
    m.set(`${o.name}/${o.iface}`, { device: o.attachedTo, iface: o.switchPort.name });
  }
  return m;
}

const GOOD_NEIGH = new Set(['PERMANENT', 'REACHABLE', 'STALE', 'DELAY', 'PROBE', 'NOARP']);

/** Pure (given the oracle): follow the packet until it is delivered or dropped. */
export async function tracePath(plan: Plan, snaps: Map<string, DeviceSnapshot>, oracle: Oracle, start: string, flow: Flow, toLabel: string): Promise<Trace> {
  const cables = cabling(plan);
  const owner = new Map<string, { device: string; iface: string }>();
  for (const [device, s] of snaps) for (const a of s.addrs) if (!owner.has(a.ip) || a.iface !== 'lo') owner.set(a.ip, { device, iface: a.iface });
  const hops: Hop[] = [];
  const result = (delivered: boolean, why: string | null): Trace => ({ from: start, to: toLabel, delivered, hops, stoppedBecause: why, flow });

  let device = start;
  let inIface: string | null = null;
  const inner = { ...flow, ttl: 64 };
  let outer: { src: string; dst: string; ttl: number; vni: number; port: number } | undefined;
  for (let step = 0; step < 32; step++) {
    const snap = snaps.get(device);
    const hop: Hop = { device, in: inIface, out: null, route: null, nextHops: [], chosen: null, encap: null, ttl: (outer ?? inner).ttl, notes: [] };
    hops.push(hop);
    if (!snap) return result(false, `${device} could not be observed`);
    const local = (ip: string) => snap.addrs.some((a) => a.ip === ip);
    // A bridge port receives for its bridge: the bridge is where the kernel routes it.
    const master = inIface ? snap.links.find((l) => l.iface === inIface)?.master : undefined;
    if (master) {
      hop.in = `${master}:${inIface}`;
      inIface = master;
    }

    // Decapsulation: the outer packet is for this device and a VXLAN device takes it.
    if (outer && local(outer.dst)) {
      const vx = snap.links.filter((l) => l.vxlan && l.vxlan.port === outer!.port);
      const match = vx.find((l) => l.vxlan!.vni === outer!.vni && l.up);
      if (!match) {
        const seen = vx.map((l) => `${l.iface} has VNI ${l.vxlan!.vni}${l.up ? '' : ' and is down'}`).join(', ');
        return result(false, `dropped on ${device}: no VXLAN device for VNI ${outer.vni} on UDP ${outer.port}${seen ? ` (${seen})` : ''}`);
      }
      hop.encap = { type: 'vxlan', vni: outer.vni, port: outer.port, outerSrc: outer.src, outerDst: outer.dst, decap: true };
      hop.notes.push(`decapsulated by ${match.iface} (VNI ${outer.vni}), inner ${inner.src} -> ${inner.dst}`);
      outer = undefined;
      inIface = match.iface;
      hop.ttl = inner.ttl;
    }
    const pkt = outer ?? inner;
    if (!outer && local(inner.dst)) {
      hop.ttl = inner.ttl;
      hop.notes.push(`delivered to ${inner.dst} on ${snap.addrs.find((a) => a.ip === inner.dst)!.iface}`);
      return result(true, null);
    }
    if (inIface !== null) {
      // Forwarding: the TTL goes down by one.
      pkt.ttl -= 1;
      hop.ttl = pkt.ttl;
      if (pkt.ttl <= 0) return result(false, `TTL expired on ${device}`);
    }
    const get = await oracle.routeGet(device, { dst: pkt.dst, src: pkt.src, iif: inIface ?? undefined, proto: outer ? 'udp' : inner.proto, sport: outer ? undefined : inner.sport, dport: outer ? outer.port : inner.dport });
    const kr = lookup(snap.routes, pkt.dst);
    const frr = await oracle.frrRoute(device, pkt.dst);
    if (frr) {
      const active = frr.nexthops.filter((n) => n.active);
      hop.route = { prefix: frr.prefix, protocol: frr.protocol };
      hop.nextHops = active.map((n) => (n.ip ? `${n.ip} via ${n.iface}` : n.iface ?? (kr?.type ?? 'none')));
    } else if (kr) {
      hop.route = { prefix: kr.dst, protocol: PROTOCOLS[kr.protocol ?? 'boot'] ?? kr.protocol ?? 'static' };
      hop.nextHops = (kr.nexthops ?? (kr.gateway || kr.dev ? [{ gateway: kr.gateway, dev: kr.dev }] : [])).map((n) => (n.gateway ? `${n.gateway} via ${n.dev}` : `${n.dev}`));
    }
    if (!get.ok) {
      const why = /unreachable/i.test(get.error) ? 'no route' : get.error;
      if (kr?.type === 'blackhole' || /Invalid argument/.test(get.error) && kr?.type === 'blackhole') return result(false, `blackhole route ${kr!.dst} on ${device}: dropped`);
      return result(false, `${why} to ${pkt.dst} on ${device}${kr ? '' : ' (no route in its table)'}`);
    }
    if (get.type && get.type !== 'unicast') {
      if (get.type === 'blackhole') return result(false, `blackhole route ${kr?.dst ?? pkt.dst} on ${device}: dropped`);
      return result(false, `${get.type} route to ${pkt.dst} on ${device}: dropped`);
    }
    if (!get.dev) return result(false, `${device} has no output interface for ${pkt.dst}`);
    hop.chosen = get.gateway ? `${get.gateway} via ${get.dev}` : get.dev;
    if (hop.route && hop.nextHops.length > 1) {
      hop.notes.push(`ECMP over ${hop.nextHops.length}: this flow hashes to ${hop.chosen}${snap.hashPolicy === 1 && outer ? ' (L4 hash: the VXLAN source port comes from the inner flow, so another flow may take another path)' : ''}`);
    }
    const outLink = snap.links.find((l) => l.iface === get.dev);
    if (outLink && !outLink.up) return result(false, `link down: ${device} ${get.dev} is down`);

    // Into a VXLAN device: encapsulate (neighbour -> MAC -> FDB -> remote VTEP).
    if (outLink?.vxlan) {
      const nh = get.gateway ?? pkt.dst;
      const n = snap.neigh.find((x) => x.iface === get.dev && x.ip === nh);
      if (!n?.mac || !GOOD_NEIGH.has(n.state)) return result(false, `neighbour incomplete: ${device} has no usable entry for ${nh} on ${get.dev}${n ? ` (${n.state})` : ''}`);
      const f = snap.fdb.find((x) => x.iface === get.dev && x.mac === n.mac && x.dst);
      if (!f) return result(false, `${device} has no FDB entry for ${n.mac} on ${get.dev}: the VXLAN device does not know the remote VTEP`);
      hop.neighbour = { ip: nh, mac: n.mac, state: n.state };
      const src = outLink.vxlan.local ?? snap.addrs.find((a) => a.iface !== 'lo')?.ip ?? '';
      outer = { src, dst: f.dst!, ttl: outLink.vxlan.ttl || 64, vni: outLink.vxlan.vni, port: outLink.vxlan.port };
      hop.encap = { type: 'vxlan', vni: outer.vni, port: outer.port, outerSrc: outer.src, outerDst: outer.dst };
      hop.innerTtl = inner.ttl;
      hop.notes.push(`encapsulated by ${get.dev}: VXLAN VNI ${outer.vni}, UDP ${outer.port}, ${outer.src} -> ${outer.dst} (neighbour ${nh} is ${n.mac}, FDB sends it to ${f.dst})`);
      // The outer packet is routed by the same device, as locally generated.
      const o = await oracle.routeGet(device, { dst: outer.dst, src: outer.src, proto: 'udp', dport: outer.port });
      if (!o.ok || !o.dev) return result(false, `no route to the remote VTEP ${outer.dst} on ${device}${o.ok ? '' : `: ${o.error}`}`);
      const okr = lookup(snap.routes, outer.dst);
      if (okr) hop.notes.push(`outer route ${okr.dst} (${PROTOCOLS[okr.protocol ?? 'boot'] ?? okr.protocol}) ${o.gateway ? `via ${o.gateway} ` : ''}dev ${o.dev}`);
      get.gateway = o.gateway;
      get.dev = o.dev;
      hop.chosen = o.gateway ? `${o.gateway} via ${o.dev}` : o.dev;
      hop.ttl = outer.ttl;
      const ol = snap.links.find((l) => l.iface === o.dev);
      if (ol && !ol.up) return result(false, `link down: ${device} ${o.dev} is down`);
    }
    hop.out = get.dev;
    const cur = outer ?? inner;
    const nhIp = get.gateway ?? cur.dst;
    if (hop.route?.protocol.startsWith('bgp') && get.gateway) hop.route.from = `${owner.get(get.gateway)?.device ?? 'unknown'} (${get.gateway})`;

    // The neighbour entry, and through a bridge the port (FDB) it leads to.
    const n = snap.neigh.find((x) => x.iface === get.dev && x.ip === nhIp);
    if (n && !GOOD_NEIGH.has(n.state)) return result(false, `neighbour incomplete: ${device} cannot resolve ${nhIp} on ${get.dev} (${n.state})`);
    let port = get.dev;
    const bridged = snap.links.some((l) => l.master === get.dev);
    if (bridged) {
      const f = n?.mac ? snap.fdb.find((x) => x.mac === n.mac && x.master === get.dev) : undefined;
      if (f) port = f.iface;
      else {
        // Not learnt yet: the bridge floods; the port whose cable leads to the owner of the address.
        const dest = owner.get(nhIp);
        const member = snap.links.filter((l) => l.master === get.dev).find((l) => cables.get(`${device}/${l.iface}`)?.device === dest?.device);
        if (member) port = member.iface;
        hop.notes.push(n?.mac
          ? `no FDB entry for ${n.mac} on ${get.dev}: flooded to every port, reaches ${dest?.device ?? 'nobody'}`
          : `ARP would resolve ${nhIp} first (answered by ${dest?.device ?? 'nobody'}), then the bridge learns the port`);
      }
      const pl = snap.links.find((l) => l.iface === port);
      if (pl && !pl.up) return result(false, `link down: ${device} ${port} (in ${get.dev}) is down`);
      hop.out = `${get.dev}:${port}`;
    }
    hop.neighbour = hop.neighbour ?? { ip: nhIp, mac: n?.mac, state: n?.state ?? 'none (not resolved yet: ARP would ask)', ...(bridged ? { port } : {}) };
    const next = cables.get(`${device}/${port}`);
    if (!next) return result(false, `${device} ${port} is not cabled to another device of the lab`);
    const nextSnap = snaps.get(next.device);
    const peerLink = nextSnap?.links.find((l) => l.iface === next.iface);
    if (peerLink && !peerLink.up) return result(false, `link down: ${next.device} ${next.iface} is down`);
    device = next.device;
    inIface = next.iface;
  }
  return result(false, 'more than 32 hops: a routing loop?');
}

// --- text -----------------------------------------------------------------------------

export function formatTrace(t: Trace, lab: string): string {
  const out: string[] = [`trace ${lab}: ${t.from} -> ${t.to} (${t.flow.proto}${t.flow.dport ? ` port ${t.flow.dport}` : ''}, ${t.flow.src} -> ${t.flow.dst})`];
  const width = Math.max(...t.hops.map((h) => h.device.length));
  t.hops.forEach((h, i) => {
    const ports = `${h.in ?? '(source)'} -> ${h.out ?? (t.delivered && i === t.hops.length - 1 ? '(delivered)' : '(dropped)')}`;
    out.push(`${String(i + 1).padStart(2)}  ${h.device.padEnd(width)}  ${ports.padEnd(28)} ttl ${h.ttl}${h.innerTtl !== undefined ? ` (inner ${h.innerTtl})` : ''}`);
    const d = (s: string) => out.push(`      ${s}`);
    if (h.route) d(`route ${h.route.prefix} ${h.route.protocol}${h.route.from ? ` from ${h.route.from}` : ''}${h.nextHops.length ? `, next hops: ${h.nextHops.join(', ')}` : ''}${h.chosen ? `; this flow: ${h.chosen}` : ''}`);
    else if (h.chosen) d(`this flow: ${h.chosen}`);
    if (h.neighbour) d(`neighbour ${h.neighbour.ip} ${h.neighbour.mac ?? ''} ${h.neighbour.state}${h.neighbour.port ? `, FDB port ${h.neighbour.port}` : ''}`.replace(/\s+/g, ' '));
    if (h.encap) d(`${h.encap.decap ? 'decap' : 'encap'} VXLAN VNI ${h.encap.vni} UDP ${h.encap.port} ${h.encap.outerSrc} -> ${h.encap.outerDst}`);
    for (const n of h.notes) d(n);
  });
  const last = t.hops[t.hops.length - 1];
  out.push(t.delivered ? `delivered to ${t.to} in ${t.hops.length} hops, arriving with TTL ${last.ttl}` : `NOT delivered: ${t.stoppedBecause}`);
  return out.join('\n');
}

/** `lab trace --json` (DESIGN 8.1): the documented fields first; extra ones may follow. */
export function traceJson(t: Trace): unknown {
  return {
    from: t.from, to: t.to, delivered: t.delivered,
    hops: t.hops.map((h) => ({ device: h.device, in: h.in, out: h.out, route: h.route, nextHops: h.nextHops, chosen: h.chosen, encap: h.encap, ttl: h.ttl, ...(h.innerTtl !== undefined ? { innerTtl: h.innerTtl } : {}), ...(h.neighbour ? { neighbour: h.neighbour } : {}), notes: h.notes })),
    stoppedBecause: t.stoppedBecause,
    flow: t.flow,
  };
}
