// Addresses: every CIDR valid, canonical and clear of the others; node addresses inside
// their rack or LAN and free; every pool big enough for what the plan puts in it. The
// capacity rules mirror how src/plan allocates (DESIGN 3.1, 3.5), so a lab that passes
// here always plans.
import { formatPath, type Issue, type Seg } from './positions.js';
import { broadcast, contains, firstAutoHostOffset, formatIp, ipProblem, overlaps, parseIp, parseNet, SPECIAL_RANGES, type Net } from './ipv4.js';
import { int, obj, str, type LabView, type Raw } from './raw.js';
import { DEFAULTS } from './defaults.js';
import { BLOCK_SIZE, NODE_CIDR_BITS } from './schema.js';

interface PlacedNet { path: Seg[]; net: Net }

/** Parse the CIDR at `path` of `parent`; report it when it is not a valid network. */
function readNet(parent: Raw | undefined, key: string, path: Seg[], out: Issue[]): PlacedNet | undefined {
  const text = str(parent?.[key]);
  if (text === undefined) return undefined;
  const r = parseNet(text);
  if ('error' in r) { out.push({ path: [...path, key], message: r.error }); return undefined; }
  return { path: [...path, key], net: r.net };
}

/** Smallest prefix length holding `count` addresses, for "use a /23 or larger". */
const prefixFor = (count: number) => 32 - Math.ceil(Math.log2(Math.max(count, 1)));

export function checkNetworks(v: LabView): Issue[] {
  const out: Issue[] = [];
  const addressing = obj(v.fabric?.addressing);
  const loopback = readNet(addressing, 'loopback', ['fabric', 'addressing'], out);
  const p2p = readNet(addressing, 'p2p', ['fabric', 'addressing'], out);
  const racks = v.leaves.map((l) => readNet(l.v, 'rack', l.path, out));
  const lanSubnet = readNet(v.lan, 'subnet', ['lan'], out);
  const podSubnet = readNet(v.kubernetes, 'podSubnet', ['kubernetes'], out);
  const serviceSubnet = readNet(v.kubernetes, 'serviceSubnet', ['kubernetes'], out);
  const outside = obj(v.root.outside);
  const outsideSubnet = outside && readNet({ subnet: DEFAULTS.outside.subnet, ...outside }, 'subnet', ['outside'], out);

  const all = [loopback, p2p, ...racks, lanSubnet, podSubnet, serviceSubnet, outsideSubnet].filter((n): n is PlacedNet => !!n);
  for (const n of all) {
    const special = SPECIAL_RANGES.find((s) => overlaps(s.net, n.net));
    if (special) out.push({ path: n.path, message: `${n.net.text} overlaps ${special.net.text} (${special.why}); use private space like 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16` });
  }
  all.forEach((b, j) => {
    const a = all.slice(0, j).find((x) => overlaps(x.net, b.net));
    if (a) out.push({ path: b.path, message: `${b.net.text} overlaps ${formatPath(a.path)} (${a.net.text}); racks, lan, p2p, loopback, podSubnet, serviceSubnet and outside.subnet must not share addresses` });
  });

  out.push(...checkFabricCapacity(v, loopback, p2p));
  out.push(...checkNodeAddresses(v, racks, lanSubnet));
  if (podSubnet) out.push(...checkPodCapacity(v, podSubnet));
  return out;
}

function checkFabricCapacity(v: LabView, loopback?: PlacedNet, p2p?: PlacedNet): Issue[] {
  const out: Issue[] = [];
  const S = v.spines.length;
  const L = v.leaves.length;
  if (p2p && p2p.net.size / 2 < S * L) {
    out.push({ path: p2p.path, message: `${p2p.net.text} holds ${p2p.net.size / 2} /31 links; ${S} spines x ${L} leaves need ${S * L}: use a /${prefixFor(2 * S * L)} or larger` });
  }
  if (S > 100) out.push({ path: ['fabric', 'spines'], message: `at most 100 spines (loopbacks .1-.100; leaves start at .101); got ${S}` });
  // Spines take loopback offsets 1..S, leaves 101..100+L; the last offset stays unused.
  if (loopback && 100 + L > loopback.net.size - 2) {
    out.push({ path: loopback.path, message: `${loopback.net.text} holds ${loopback.net.size} addresses; spines take .1, .2 ... and leaves .101, .102 ..., so ${L} leaves need ${102 + L}: use a /${prefixFor(102 + L)} or larger` });
  }
  return out;
}

/** Node addresses: explicit ones checked, then the automatic ones counted per rack/LAN. */
function checkNodeAddresses(v: LabView, racks: (PlacedNet | undefined)[], lanSubnet?: PlacedNet): Issue[] {
  const out: Issue[] = [];
  const lanGateway = checkLanGateway(v, lanSubnet, out);
  // Where each node lives: its rack (with the leaf as gateway on .1) or the LAN.
  const homeOf = (node: Raw): { net: PlacedNet; gateway: number; what: string } | undefined => {
    if (v.fabric) {
      const i = v.leaves.findIndex((l) => str(l.v.name) === str(node.leaf));
      const rack = racks[i];
      return rack && { net: rack, gateway: rack.net.base + 1, what: `rack ${rack.net.text} of ${str(node.leaf)}` };
    }
    return lanSubnet && lanGateway !== undefined ? { net: lanSubnet, gateway: lanGateway, what: `lan ${lanSubnet.net.text}` } : undefined;
  };
  const used = new Map<number, string>();
  const explicitByNet = new Map<PlacedNet, Set<number>>();
  const autoByNet = new Map<PlacedNet, number>();
  for (const n of v.nodes) {
    const home = homeOf(n.v);
    const text = str(n.v.ip);
    if (text === undefined) {
      if (home && n.v.ip === undefined) autoByNet.set(home.net, (autoByNet.get(home.net) ?? 0) + 1);
      continue;
    }
    const ip = parseIp(text);
    const path = [...n.path, 'ip'];
    if (ip === undefined) { out.push({ path, message: ipProblem(text) }); continue; }
    if (home) {
      const { net } = home.net;
      const problem = notAHost(net, ip, home.what)
        ?? (ip === home.gateway ? `is the gateway of ${home.what} (${v.fabric ? 'the leaf, always the first host' : 'lan.gateway'})` : undefined);
      if (problem) {
        out.push({ path, message: `${text} ${problem}; use a free host address in ${net.text}` });
        continue;
      }
      if (!explicitByNet.has(home.net)) explicitByNet.set(home.net, new Set());
      explicitByNet.get(home.net)!.add(ip);
    }
    const first = used.get(ip);
    if (first) out.push({ path, message: `${text} is already used by ${first}; every node needs its own address` });
    else used.set(ip, `${formatPath(n.path)} (${str(n.v.name) ?? '?'})`);
  }
  for (const [placed, count] of autoByNet) {
    const { net } = placed;
    const gateway = placed === lanSubnet ? lanGateway! : net.base + 1;
    // As the plan allocates: from firstAutoHostOffset up to the last host, skipping the
    // gateway and explicit ips.
    const start = firstAutoHostOffset(net);
    const taken = explicitByNet.get(placed) ?? new Set<number>();
    let free = 0;
    for (let off = start; off < net.size - 1 && free < count; off++) {
      const ip = net.base + off;
      if (ip !== gateway && !taken.has(ip)) free++;
    }
    if (free < count) {
      out.push({
        path: placed.path,
        message: `${net.text} has no address left for ${count - free} of its ${count} nodes without an ip (automatic addresses run from ${formatIp(net.base + start)} to ${formatIp(broadcast(net) - 1)}, skipping the gateway and explicit ips): use a larger subnet or give the nodes an ip`,
      });
    }
  }
  return out;
}

/** Why `ip` cannot be a host address of `net` (`where` names the net), if it cannot. */
function notAHost(net: Net, ip: number, where: string): string | undefined {
  if (!contains(net, ip)) return `is outside ${where}`;
  if (ip === net.base) return `is the network address of ${net.text}`;
  if (ip === broadcast(net)) return `is the broadcast address of ${net.text}`;
  return undefined;
}

function checkLanGateway(v: LabView, lanSubnet: PlacedNet | undefined, out: Issue[]): number | undefined {
  const text = str(v.lan?.gateway);
  if (text === undefined) return undefined;
  const ip = parseIp(text);
  const path = ['lan', 'gateway'];
  if (ip === undefined) { out.push({ path, message: ipProblem(text) }); return undefined; }
  if (!lanSubnet) return ip;
  const { net } = lanSubnet;
  const problem = notAHost(net, ip, `lan.subnet ${net.text}`);
  if (problem) { out.push({ path, message: `${text} ${problem}; use a host address in ${net.text}, like ${formatIp(net.base + 1)}` }); return undefined; }
  return ip;
}

/** Pod address space: one Calico block or bridge node CIDR per node, and room in it for the pods. */
function checkPodCapacity(v: LabView, pod: PlacedNet): Issue[] {
  const out: Issue[] = [];
  const nodes = v.nodes.length;
  const calico = v.plugin === 'calico';
  if (!calico && v.plugin !== 'bridge') return out;
  const settings = calico ? v.calico : v.bridge;
  const key = calico ? 'blockSize' : 'nodeCidrBits';
  const len = int(settings?.[key]) ?? (calico ? DEFAULTS.calico.blockSize : DEFAULTS.bridge.nodeCidrBits);
  const lenPath = ['cni', calico ? 'calico' : 'bridge', key];
  const unit = calico ? 'block' : 'node CIDR';
  const { minimum, maximum: max } = calico ? BLOCK_SIZE : NODE_CIDR_BITS;
  if (len > max || len < minimum) return out; // out of range: the schema reports it
  if (len < pod.net.prefixLen) {
    out.push({ path: lenPath, message: `${key} ${len} must lie between the podSubnet prefix length (${pod.net.prefixLen}) and ${max}: each ${unit} is a part of podSubnet` });
    return out;
  }
  const units = 2 ** (len - pod.net.prefixLen);
  if (units < nodes) {
    out.push({ path: pod.path, message: `${pod.net.text} holds ${units} ${unit}s of /${len}; ${nodes} nodes need one each: use a /${len - Math.ceil(Math.log2(nodes))} or larger, or a larger ${key}` });
  }
  // Pods per node, as src/plan places them: each workload spread over the workers
  // (all nodes if there are none), so no node holds more than the sum of the shares.
  const workers = v.nodes.filter((n) => (n.v.role ?? 'worker') === 'worker').length || nodes;
  if (workers === 0) return out;
  const worst = v.workloads.reduce((sum, w) => sum + Math.ceil((int(w.v.replicas) ?? DEFAULTS.workload.replicas) / workers), 0);
  // Calico: the tunnel address (VXLAN/IPIP) takes the first address of the block.
  // Bridge: network address, bridge address and broadcast are not for pods.
  const reserved = calico ? (v.mode === 'bgp' ? 0 : 1) : 3;
  const room = 2 ** (32 - len) - reserved;
  if (worst > room) {
    out.push({
      path: lenPath,
      message: `a /${len} ${unit} has room for ${room} pods, but the workloads put up to ${worst} on one node: use a ${key} of ${prefixFor(worst + reserved)} or smaller`,
    });
  }
  return out;
}
