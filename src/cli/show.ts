// `lab show`: the plan as a reader wants it, one section per concern.
import type { Plan, SessionIntent } from '../plan/types.js';
import { routeCounts, sessionPairs } from '../plan/intent.js';
import { table, c } from './output.js';
import { describeDesign } from '../plan/fabric.js';
import { samplePairs } from '../verify/sample.js';

const cidr = (a?: { ip: string; prefixLen: number }) => (a ? `${a.ip}/${a.prefixLen}` : '');

function modeLine(p: Plan): string {
  const cl = p.cluster;
  switch (p.networking) {
    case 'vxlan': return `Calico VXLAN overlay (VNI ${cl!.vxlan!.vni}, UDP ${cl!.vxlan!.port}), pool ${cl!.podSubnet} /${cl!.blockSize} blocks`;
    case 'bgp': return `Calico BGP peered with the leaves (${p.peering}), no encapsulation, pool ${cl!.podSubnet} /${cl!.blockSize} blocks`;
    case 'ipip': return `Calico IPIP, node-to-node mesh AS ${cl!.asNumber}, pool ${cl!.podSubnet} /${cl!.blockSize} blocks`;
    case 'bridge': return `bridge CNI, per-node pod CIDRs of ${cl!.podSubnet}, static routes`;
    default: return 'no cluster (fabric only)';
  }
}

export function formatPlan(p: Plan): string {
  const out: string[] = [];
  const section = (title: string, body: string) => out.push('', c.bold(c.cyan(title)), body);
  out.push(`${c.bold(p.name)}  ${p.description}`, c.dim(p.file));
  const spines = p.switches.filter((s) => s.kind === 'spine').length;
  const leaves = p.switches.filter((s) => s.kind === 'leaf').length;
  out.push(`underlay: ${p.underlay === 'fabric' ? `leaf-spine fabric, ${spines} spines, ${leaves} leaves, eBGP` : `flat LAN ${p.lab.lan!.subnet}, gateway ${p.lab.lan!.gateway}`}`);
  if (p.design) out.push(`ASes:     ${describeDesign(p.design)}`);
  out.push(`pods:     ${modeLine(p)}`);
  if (p.cluster) out.push(`cluster:  Kubernetes ${p.cluster.version}, services ${p.cluster.serviceSubnet}, control plane ${p.cluster.controlPlane}`);

  section('SWITCHES', table(['NAME', 'KIND', 'ASN', 'LOOPBACK', 'GATEWAY'], p.switches.map((s) => [
    s.name, s.kind, s.bgp ? String(s.bgp.asn) : '-', s.loopback ?? '-', s.bridge ? `${cidr(s.bridge.addr)} on ${s.bridge.name}` : '-',
  ])));
  section('LINKS', table(['A', 'ADDRESS', 'B', 'ADDRESS'], p.links.filter((l) => l.kind !== 'pod').map((l) => [
    `${l.a.device} ${l.a.iface}`, cidr(l.a.addr) || c.dim(l.kind === 'access' ? 'bridged' : ''), `${l.b.device} ${l.b.iface}`, cidr(l.b.addr),
  ])));
  const o = p.outside;
  if (o) {
    section('OUTSIDE HOST', table(['NAME', 'ON', 'ADDRESS', 'GATEWAY', 'SWITCH PORT', 'RESPONDER'], [[
      o.name, o.attachedTo, cidr(o.addr), o.gateway, `${o.switchPort.name} ${cidr(o.switchPort.addr)}`, `tcp ${o.port} (answers with the source address it saw)`,
    ]]));
  }
  if (p.nodes.length) {
    section('NODES', table(['NAME', 'ROLE', 'ON', 'ADDRESS', 'GATEWAY', 'POD BLOCK', 'AS', 'DATAPLANE'], p.nodes.map((n) => [
      n.name, n.role, n.attachedTo, cidr(n.addr), n.gateway, n.blocks.join(' '), n.bgp ? String(n.bgp.asn) : '-',
      n.vtep ? `vxlan.calico ${n.vtep.ip} ${n.vtep.mac}` : n.tunnelIp ? `tunl0 ${n.tunnelIp}` : n.bridge ? `${n.bridge.name} ${cidr(n.bridge.addr)}` : '',
    ])));
  }
  if (p.pods.length) {
    section('PODS', table(['NAME', 'NAMESPACE', 'IP', 'NODE', 'HOST VETH'], p.pods.map((x) => [x.name, x.namespace, x.ip, x.node, x.hostIface])));
  }
  const s = p.intent.sessions;
  if (s.length) {
    const pairs = sessionPairs(s);
    const other = (x: SessionIntent) => s.find((y) => y.speaker === x.peer && y.peer === x.speaker);
    section(`EXPECTED BGP SESSIONS (${pairs.length}; verify checks both ends: ${s.length})`, table(['A', 'AS', 'ADDRESS', 'B', 'AS', 'ADDRESS', 'TYPE'], pairs.map((x) => [
      x.speaker, String(x.localAsn), other(x)?.peerIp ?? '', x.peer, String(x.remoteAsn), x.peerIp,
      x.kind + (x.dynamic || other(x)?.dynamic ? ' (listen range)' : ''),
    ])));
  }
  const r = p.intent.routes;
  if (r.length) {
    const rc = routeCounts(r);
    section(`EXPECTED ROUTES (${rc.checks}: ${rc.present} present, ${rc.absent} absent)`, table(['DEVICE', 'PREFIX', 'EXPECT', 'WHY'], r.map((x) => [
      x.device, x.prefix, x.present ? `present${x.nextHops ? `, ${x.nextHops} next hop${x.nextHops > 1 ? 's' : ''}` : ''}${x.via ? ` via ${x.via.map((v) => v.device).join(', ')}` : ''}` : c.yellow('absent'), x.why,
    ])));
  }
  // The pairs verify itself probes (its sampler), not another list.
  const sample = samplePairs(p);
  if (sample.pairs) {
    const ttls = new Set<number>();
    for (const list of sample.bySource.values()) for (const x of list) ttls.add(x.ttl);
    const ttl = [...ttls].sort().join(' or ');
    const e = p.intent.encapsulation;
    section('REACHABILITY', [
      sample.pairs === sample.of
        ? `${sample.pairs} pod-to-pod pings (every pair on different nodes), reply TTL ${ttl}`
        : `${sample.pairs} pod-to-pod pings sampled of ${sample.of} pairs on different nodes (every pod sends and receives, every node reaches every rack; verify --full probes every pair), reply TTL ${ttl}`,
      e ? (e.kind === 'vxlan' ? `on the wire: ${e.node} ${e.iface} shows UDP ${e.outerSrc} > ${e.outerDst}.${e.port} VXLAN vni ${e.vni} carrying ${e.fromIp} > ${e.toIp}`
        : e.kind === 'ipip' ? `on the wire: ${e.node} ${e.iface} shows IPIP ${e.outerSrc} > ${e.outerDst} carrying ${e.fromIp} > ${e.toIp}`
          : `on the wire: ${e.node} ${e.iface} shows ${e.fromIp} > ${e.toIp} ICMP unencapsulated`) : '',
    ].filter(Boolean).join('\n'));
  }
  return out.join('\n');
}
