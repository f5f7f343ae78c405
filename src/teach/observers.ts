// The observers of `lab graph` and `lab trace`: the only part of them that asks the
// running lab anything. Small and in one place, to move onto the shared observation
// layer (src/observe/) once it exists. One exec per device per question, in parallel.
import type { Plan } from '../plan/types.js';
import type { Capabilities, Provider } from '../providers/types.js';
import type { GraphObservation } from '../graph/model.js';
import type { DeviceSnapshot, Encap, KernelRoute, Oracle, Trace } from '../trace/model.js';
import { parseBgpSummary, splitJsonDocuments } from '../verify/parse/frr.js';
import { parseBirdProtocols } from '../verify/parse/bird.js';
import { safeExec } from '../observe/index.js';

/** Port states and BGP sessions of every switch and BGP-speaking node. */
export async function observeGraph(plan: Plan, provider: Provider): Promise<GraphObservation> {
  const obs: GraphObservation = { ports: new Map(), sessions: new Map(), unobserved: new Map(), speakers: new Set() };
  const lab = plan.name;
  const links = async (device: string) => {
    const r = await safeExec(provider, lab, device, ['ip', '-j', 'link', 'show']);
    if (r.exitCode !== 0) return;
    try {
      for (const l of JSON.parse(r.stdout) as { ifname: string; operstate: string; flags?: string[] }[]) {
        obs.ports.set(`${device}/${l.ifname}`, l.operstate === 'UP' || (l.flags?.includes('LOWER_UP') && l.flags.includes('UP')) ? 'up' : 'down');
      }
    } catch { /* not observed */ }
  };
  await Promise.all([
    ...plan.switches.map(async (s) => {
      await links(s.name);
      if (!s.bgp) return;
      const r = await safeExec(provider, lab, s.name, ['vtysh', '-c', 'show bgp summary json']);
      const doc = (() => { try { return splitJsonDocuments(r.stdout)[0]; } catch { return undefined; } })();
      if (r.exitCode !== 0 || doc === undefined) {
        obs.unobserved.set(s.name, (r.stderr.trim() || r.stdout.trim() || 'no answer').split('\n')[0]);
        return;
      }
      obs.speakers.add(s.name);
      for (const p of parseBgpSummary(doc)) obs.sessions.set(`${s.name}>${p.ip}`, p.state);
    }),
    ...plan.nodes.filter((n) => n.bgp).map(async (n) => {
      const r = await safeExec(provider, lab, n.name, ['birdc', 'show', 'protocols', 'all']);
      if (r.exitCode !== 0 || !/^BIRD /m.test(r.stdout)) {
        obs.unobserved.set(n.name, (r.stderr.trim() || r.stdout.trim() || 'no answer').split('\n')[0]);
        return;
      }
      obs.speakers.add(n.name);
      for (const p of parseBirdProtocols(r.stdout)) if (p.neighborIp) obs.sessions.set(`${n.name}>${p.neighborIp}`, p.state);
    }),
  ]);
  return obs;
}

// --- trace -------------------------------------------------------------------------------

const SEP = '--fabric-lab-trace--';
const SNAPSHOT = ['sh', '-c', ['ip -j addr show', 'ip -j -d link show', 'ip -j neigh show', 'bridge -j fdb show', 'ip -j route show', 'cat /proc/sys/net/ipv4/fib_multipath_hash_policy'].join(` ; echo ${SEP} ; `)];

interface LinkJson { ifname: string; operstate?: string; flags?: string[]; address?: string; master?: string; linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; local?: string; ttl?: number } } }

/** Pure: one device's snapshot from SNAPSHOT's output. */
export function parseSnapshot(stdout: string): DeviceSnapshot {
  const parts = stdout.split(SEP).map((x) => x.trim());
  const json = <T>(i: number): T[] => { try { return parts[i] ? JSON.parse(parts[i]) as T[] : []; } catch { return []; } };
  const addrs = json<{ ifname: string; addr_info?: { family: string; local: string; prefixlen: number }[] }>(0)
    .flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => ({ iface: l.ifname, ip: a.local, prefixLen: a.prefixlen })));
  const links = json<LinkJson>(1).map((l) => {
    const flags = l.flags ?? [];
    const up = flags.includes('UP') && !flags.includes('NO-CARRIER') && l.operstate !== 'DOWN' && l.operstate !== 'LOWERLAYERDOWN';
    const d = l.linkinfo?.info_kind === 'vxlan' ? l.linkinfo.info_data : undefined;
    return {
      iface: l.ifname, up, mac: l.address ?? '', ...(l.master ? { master: l.master } : {}),
      ...(d?.id !== undefined ? { vxlan: { vni: d.id, port: d.port ?? 4789, local: d.local, ttl: d.ttl ?? 0 } } : {}),
    };
  });
  const neigh = json<{ dst: string; dev: string; lladdr?: string; state?: string[] }>(2).map((n) => ({ ip: n.dst, iface: n.dev, mac: n.lladdr, state: n.state?.[0] ?? 'NONE' }));
  const fdb = json<{ mac: string; ifname: string; dst?: string; master?: string }>(3).map((f) => ({ mac: f.mac, iface: f.ifname, dst: f.dst, master: f.master }));
  const routes = json<KernelRoute>(4);
  const policy = Number(parts[5]);
  return { addrs, links, neigh, fdb, routes, ...(Number.isInteger(policy) ? { hashPolicy: policy } : {}) };
}

/**
 * Pure: why `lab trace` cannot follow this packet on this provider, or undefined. Where
 * real Kubernetes and Calico build the pods (libvirt), a pod is neither the plan's name
 * nor the plan's address, and its image has no iproute2 to read: trace from its node to
 * its real IP instead.
 */
export function traceCannot(plan: Plan, caps: Capabilities, providerName: string, lab: string, from: string, toPod: string | undefined): string | undefined {
  if (caps.podDataplane === 'planned') return undefined;
  const fromPod = plan.pods.find((p) => p.name === from);
  const pod = fromPod ?? plan.pods.find((p) => p.name === toPod);
  if (!pod) return undefined;
  return `on the ${providerName} provider pods are real Kubernetes pods (their names and addresses come from Kubernetes and Calico, `
    + `and their images have no iproute2 to read), so trace cannot start or end at ${pod.name} by its plan name; `
    + `trace from its node to the pod's real IP: \`lab pods ${lab}\` shows it, then \`lab trace ${lab} ${fromPod ? `${pod.node} IP` : `${from} IP`}\``;
}

/** Snapshots of every switch, node and pod, and the outside host (in parallel); a device that cannot answer is left out. */
export async function snapshotLab(plan: Plan, provider: Provider): Promise<Map<string, DeviceSnapshot>> {
  // Pods built by a real CNI are not addressed by plan names (traceCannot keeps them out of a trace).
  const pods = provider.capabilities.podDataplane === 'planned' ? plan.pods.map((p) => p.name) : [];
  const outside = plan.outside && provider.capabilities.outside ? [plan.outside.name] : [];
  const names = [...plan.switches.map((s) => s.name), ...plan.nodes.map((n) => n.name), ...pods, ...outside];
  const out = new Map<string, DeviceSnapshot>();
  await Promise.all(names.map(async (d) => {
    const r = await safeExec(provider, plan.name, d, SNAPSHOT);
    if (r.exitCode === 0) out.set(d, parseSnapshot(r.stdout));
  }));
  return out;
}

/** The oracle of tracePath: the device's kernel and FRR, asked live. */
export function liveOracle(plan: Plan, provider: Provider): Oracle {
  const frrSwitches = new Set(plan.switches.filter((s) => s.bgp).map((s) => s.name));
  return {
    async routeGet(device, q) {
      const argv = ['ip', '-j', 'route', 'get', q.dst, 'from', q.src, ...(q.iif ? ['iif', q.iif] : []), 'ipproto', q.proto,
        ...(q.proto !== 'icmp' && q.sport ? ['sport', String(q.sport)] : []), ...(q.proto !== 'icmp' && q.dport ? ['dport', String(q.dport)] : [])];
      const r = await safeExec(provider, plan.name, device, argv);
      if (r.exitCode !== 0) return { ok: false, error: (r.stderr.trim() || `exit code ${r.exitCode}`).replace(/^RTNETLINK answers: /, '') };
      try {
        const [x] = JSON.parse(r.stdout) as { type?: string; gateway?: string; dev?: string; prefsrc?: string }[];
        return { ok: true, type: x?.type, gateway: x?.gateway, dev: x?.dev, prefsrc: x?.prefsrc };
      } catch {
        return { ok: false, error: r.stdout.trim().split('\n')[0] || 'no answer' };
      }
    },
    async frrRoute(device, dst) {
      if (!frrSwitches.has(device)) return undefined;
      const r = await safeExec(provider, plan.name, device, ['vtysh', '-c', `show ip route ${dst} json`]);
      if (r.exitCode !== 0) return undefined;
      try {
        const doc = JSON.parse(r.stdout) as Record<string, { prefix: string; protocol: string; selected?: boolean; nexthops?: { ip?: string; interfaceName?: string; active?: boolean }[] }[]>;
        const entries = Object.values(doc).flat();
        const e = entries.find((x) => x.selected) ?? entries[0];
        if (!e) return undefined;
        return { prefix: e.prefix, protocol: e.protocol, nexthops: (e.nexthops ?? []).map((n) => ({ ip: n.ip, iface: n.interfaceName, active: !!n.active })) };
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * `lab trace --probe`: capture on every hop's incoming port, send one real packet (ping)
 * from the source, and say per hop whether it went by. undefined: nothing to capture (source).
 */
export async function probePath(plan: Plan, provider: Provider, lab: string, t: Trace): Promise<(boolean | undefined)[]> {
  // Which header is on each incoming wire: the outer one between encap and decap.
  let outer: Encap | null = null;
  const filters = t.hops.map((h) => {
    const port = h.in ? (h.in.includes(':') ? h.in.split(':')[1] : h.in) : undefined;
    const f = port === undefined ? undefined : {
      port, f: outer ? `udp port ${outer.port} and src host ${outer.outerSrc} and dst host ${outer.outerDst}` : `src host ${t.flow.src} and dst host ${t.flow.dst}`,
    };
    // After this hop: inside the tunnel from its encapsulation until its decapsulation.
    if (h.encap) outer = h.encap.decap ? null : h.encap;
    return f;
  });
  const points = filters.map((f, i) => (f ? { i, device: t.hops[i].device, ...f } : undefined)).filter((x) => !!x);
  let armed = 0;
  let fire: () => void = () => undefined;
  const allArmed = new Promise<void>((res) => { fire = res; if (!points.length) res(); });
  const seen: (boolean | undefined)[] = t.hops.map(() => undefined);
  const captures = points.map(async (p) => {
    const r = await provider.capture(lab, p.device, p.port, [p.f], {
      packets: 1, durationMs: 4000, onListening: () => { if (++armed === points.length) fire(); },
    }).catch(() => ({ stdout: '', stderr: '', exitCode: -1 }));
    seen[p.i] = r.stdout.trim().length > 0;
  });
  await Promise.race([allArmed, new Promise((r) => setTimeout(r, 3000))]);
  const src = t.hops[0].device;
  const isPod = plan.pods.some((x) => x.name === src);
  await safeExec(provider, lab, src, ['ping', '-c', '1', '-W', '1', ...(isPod ? [] : ['-I', t.flow.src]), t.flow.dst]);
  await Promise.all(captures);
  return seen;
}
