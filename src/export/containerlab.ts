// plan -> a containerlab topology (`lab export LAB --format containerlab`), pure: the
// .clab.yml text and the files it binds into the nodes (relative to the config folder
// written beside it). The same lab as the emulator builds, on containers:
// - switches: `kind: linux` with FRR's image, frr.conf/daemons/vtysh.conf bound into
//   /etc/frr (the schema this export is validated against, containerlab v0.79, has no
//   `frr` kind; containerlab's FRR page says labs may keep `linux` with binds);
// - Kubernetes nodes: `kind: linux`, a setup script run by `exec:` programs what the
//   emulator programs (the same pure command lists: providers/emulator/topology.ts):
//   addresses, routes, Felix's VXLAN/IPIP dataplane or the bridge CNI, pods as network
//   namespaces inside the node's container, iptables, BIRD in BGP/IPIP modes, responders;
// - interfaces renamed to containerlab's (eth0 is its management port): switch port i
//   (swp<i>) -> eth<i>, node eth0 -> eth1, and every config rewritten to match.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Document, Scalar, isScalar, isSeq, visit } from 'yaml';
import { repoRoot } from '../paths.js';
import type { Plan, Switch, DeviceKind } from '../plan/types.js';
import type { Artifact } from '../render/types.js';
import { renderFrr } from '../render/fabric.js';
import { buildTopology, CALICO_HOST_MAC, type NsConfig } from '../providers/emulator/topology.js';
import { renderBirdConf } from '../providers/emulator/bird.js';
import { nodeTables, rulesHeader } from '../policy/node-rules.js';
import { IPIP_MTU } from '../plan/cluster.js';

/** FRR as the emulator runs it (Debian 12's FRR is 8.4). */
export const DEFAULT_SWITCH_IMAGE = 'quay.io/frrouting/frr:8.4.2';
/** Alpine with iproute2, BIRD 2, iptables, tcpdump and python3: everything a node's script uses. */
export const DEFAULT_HOST_IMAGE = 'nicolaka/netshoot:latest';

/** Where each container finds the files bound into it. */
export const MOUNT = '/fabric-lab';
/** containerlab's management interface in every container. */
export const MGMT_IFACE = 'eth0';

export interface ContainerlabOptions {
  /** File name of the topology (for the instructions in its header). */
  topologyFile: string;
  /** The config folder, relative to the .clab.yml (bind sources are relative to it). */
  configDir: string;
  switchImage: string;
  hostImage: string;
}

export interface ContainerlabExport {
  /** The .clab.yml text. */
  topology: string;
  /** Files bound into the nodes, relative to the config folder. */
  files: Artifact[];
  /** Device -> (plan interface -> containerlab interface). */
  interfaces: Map<string, Map<string, string>>;
  /** How many containers and links the topology has. */
  containers: number;
  links: number;
}

/** containerlab names of every cabled interface: switch port i -> eth<i>, node eth0 -> eth1. */
export function interfaceMap(plan: Plan): Map<string, Map<string, string>> {
  const m = new Map<string, Map<string, string>>();
  for (const sw of plan.switches) m.set(sw.name, new Map(sw.ports.map((p, i) => [p.name, `eth${i + 1}`])));
  for (const n of plan.nodes) m.set(n.name, new Map([[n.iface, 'eth1']]));
  const o = plan.outside;
  if (o) {
    // The border switch's routed port to the outside host comes after its cabled ports.
    const border = m.get(o.attachedTo)!;
    border.set(o.switchPort.name, `eth${border.size + 1}`);
    m.set(o.name, new Map([[o.iface, 'eth1']]));
  }
  return m;
}

export function exportContainerlab(plan: Plan, o: ContainerlabOptions): ContainerlabExport {
  const ifmap = interfaceMap(plan);
  const rename = (device: string, iface: string): string => {
    const to = ifmap.get(device)?.get(iface);
    if (!to) throw new Error(`${device} ${iface} has no containerlab interface (not a cabled port)`);
    return to;
  };
  const topo = buildTopology(plan);
  const configOf = new Map(topo.configs.map((c) => [c.device, c]));
  const files: Artifact[] = [];
  const nodes: Record<string, Record<string, unknown>> = {};
  const bind = (device: string, file: string, target: string) => `${o.configDir}/${device}/${file}:${target}`;
  const addFile = (device: string, file: string, content: string, mode?: number) => files.push({ path: `${device}/${file}`, content, ...(mode ? { mode } : {}) });

  for (const sw of plan.switches) {
    const c = configOf.get(sw.name)!;
    const binds: string[] = [];
    const frr = renderFrr(plan.name, renamedSwitch(sw, rename), plan.bgpTimers.fabric, { flavour: 'FRR container, containerlab', setProfile: true });
    if (frr) {
      addFile(sw.name, 'frr.conf', frr.frrConf);
      addFile(sw.name, 'daemons', frr.daemons);
      addFile(sw.name, 'vtysh.conf', VTYSH_CONF);
      binds.push(bind(sw.name, 'daemons', '/etc/frr/daemons'), bind(sw.name, 'frr.conf', '/etc/frr/frr.conf'), bind(sw.name, 'vtysh.conf', '/etc/frr/vtysh.conf'));
    }
    addFile(sw.name, 'setup.sh', switchScript(plan, sw, c, ifmap.get(sw.name)!));
    binds.push(bind(sw.name, 'setup.sh', `${MOUNT}/setup.sh`));
    nodes[sw.name] = {
      kind: 'linux',
      image: frr ? o.switchImage : o.hostImage,
      group: sw.kind,
      binds,
      exec: [`sh ${MOUNT}/setup.sh`],
    };
  }

  const podsOf = new Map<string, Plan['pods']>();
  for (const p of plan.pods) podsOf.set(p.node, [...(podsOf.get(p.node) ?? []), p]);
  const rules = plan.pods.length > 0 && plan.networking !== 'none';
  let responderNeeded = false;
  let sharedNat: string | undefined;
  for (const node of plan.nodes) {
    const c = configOf.get(node.name)!;
    const pods = podsOf.get(node.name) ?? [];
    const binds: string[] = [];
    const extras: NodeExtras = { bird: false, iptables: false, responder: false };
    if (node.bgp) {
      addFile(node.name, 'bird.conf', renderBirdConf(plan, node, '/var/log/bird.log'));
      binds.push(bind(node.name, 'bird.conf', `${MOUNT}/bird.conf`));
      extras.bird = true;
    }
    if (rules) {
      // The nat table (kube-proxy's Services, natOutgoing) is the same on every node: one
      // shared file instead of a copy per node (most of a big lab's bytes).
      const { filter, nat } = exportTables(plan, node.name);
      sharedNat ??= nat;
      addFile(node.name, 'iptables-filter.rules', filter);
      binds.push(bind(node.name, 'iptables-filter.rules', `${MOUNT}/iptables-filter.rules`));
      if (nat === sharedNat) binds.push(`${o.configDir}/${NAT_FILE}:${MOUNT}/${NAT_FILE}`);
      else {
        addFile(node.name, NAT_FILE, nat);
        binds.push(bind(node.name, NAT_FILE, `${MOUNT}/${NAT_FILE}`));
      }
      extras.iptables = true;
    }
    const served = pods.filter((p) => p.ports.length);
    if (served.length) {
      const config = { ready: '/run/fabric-lab-responder.ready', listeners: served.map((p) => ({ name: p.name, netns: `/run/netns/${p.name}`, ports: p.ports.map((x) => x.port) })) };
      addFile(node.name, 'responder.json', JSON.stringify(config, null, 2) + '\n');
      binds.push(bind(node.name, 'responder.json', `${MOUNT}/responder.json`), `${o.configDir}/${RESPONDER_FILE}:${MOUNT}/${RESPONDER_FILE}`);
      extras.responder = true;
      responderNeeded = true;
    }
    addFile(node.name, 'setup.sh', nodeScript(plan, node.name, c, pods.map((p) => configOf.get(p.name)!), ifmap.get(node.name)!, extras));
    binds.unshift(bind(node.name, 'setup.sh', `${MOUNT}/setup.sh`));
    nodes[node.name] = { kind: 'linux', image: o.hostImage, group: node.role === 'control-plane' ? 'control-plane' : 'node', binds, exec: [`sh ${MOUNT}/setup.sh`] };
  }

  const cables = plan.links.filter((l) => l.kind !== 'pod').map((l) => [l.a, l.b]);
  const oh = plan.outside;
  if (oh) {
    // The outside host: a container of its own on the border switch's routed port, its
    // responder answering with the source address it saw (as the emulator's).
    const c = configOf.get(oh.name)!;
    const config = { ready: '/run/fabric-lab-responder.ready', listeners: [{ name: oh.name, netns: '/proc/self/ns/net', ports: [oh.port] }] };
    addFile(oh.name, 'responder.json', JSON.stringify(config, null, 2) + '\n');
    addFile(oh.name, 'setup.sh', [
      ...scriptHead(plan, oh.name, 'outside', `a host outside the cluster on ${oh.attachedTo}'s routed port, answering TCP ${oh.port}`),
      ...heredoc('ip -batch -', c.links.map((l) => renameWords(l, ifmap.get(oh.name)!))),
      '', '# Answers each TCP connection with its name and the source address it saw (SNAT visible).',
      `nohup python3 ${MOUNT}/${RESPONDER_FILE} ${MOUNT}/responder.json </dev/null >/var/log/fabric-lab-responder.log 2>&1 &`, '',
    ].join('\n'));
    responderNeeded = true;
    nodes[oh.name] = {
      kind: 'linux', image: o.hostImage, group: 'outside',
      binds: [bind(oh.name, 'setup.sh', `${MOUNT}/setup.sh`), bind(oh.name, 'responder.json', `${MOUNT}/responder.json`), `${o.configDir}/${RESPONDER_FILE}:${MOUNT}/${RESPONDER_FILE}`],
      exec: [`sh ${MOUNT}/setup.sh`],
    };
    cables.push([{ device: oh.attachedTo, iface: oh.switchPort.name }, { device: oh.name, iface: oh.iface }]);
  }
  if (responderNeeded) files.push({ path: RESPONDER_FILE, content: RESPONDER_SOURCE() });
  if (sharedNat !== undefined) files.push({ path: NAT_FILE, content: sharedNat });
  const links = cables.map(([a, b]) => ({ endpoints: [`${a.device}:${rename(a.device, a.iface)}`, `${b.device}:${rename(b.device, b.iface)}`] }));
  const doc = new Document({ name: plan.name, topology: { nodes, links } });
  // Links as containerlab's docs write them: endpoints: ["leaf1:eth1", "spine-sw1:eth1"].
  visit(doc, {
    Pair(_, pair) {
      if (!isScalar(pair.key) || pair.key.value !== 'endpoints' || !isSeq(pair.value)) return;
      pair.value.flow = true;
      for (const item of pair.value.items) if (isScalar(item)) item.type = Scalar.QUOTE_DOUBLE;
    },
  });
  const body = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
  const topology = header(plan, o).map((l) => (l ? `# ${l}` : '#')).join('\n') + '\n' + body;
  return { topology, files: files.sort((a, b) => a.path.localeCompare(b.path)), interfaces: ifmap, containers: Object.keys(nodes).length, links: links.length };
}

interface NodeExtras { bird: boolean; iptables: boolean; responder: boolean }

/** The switch with containerlab's interface names on its ports, bridge and peers' ends. */
function renamedSwitch(sw: Switch, rename: (device: string, iface: string) => string): Switch {
  return {
    ...sw,
    ports: sw.ports.map((p) => ({ ...p, name: rename(sw.name, p.name), peerIface: rename(p.peer, p.peerIface) })),
    ...(sw.bridge ? { bridge: { ...sw.bridge, members: sw.bridge.members.map((m) => rename(sw.name, m)) } } : {}),
  };
}

/** Replace whole words that are plan interface names of this device (ip/bridge command lines). */
export function renameWords(line: string, map: Map<string, string>): string {
  return line.split(' ').map((w) => map.get(w) ?? w).join(' ');
}

const NAT_FILE = 'iptables-nat.rules';

/** A node's two iptables-restore files as the export binds them: its filter table, and the nat table every node shares. */
export function exportTables(plan: Plan, node: string): { filter: string; nat: string } {
  const t = nodeTables(plan, node, []);
  return {
    filter: [rulesHeader(node, []), t.filter, ''].join('\n'),
    nat: ['# nat table of every node, generated by fabric-lab: kube-proxy\'s Services and Calico\'s natOutgoing', t.nat, ''].join('\n'),
  };
}

const VTYSH_CONF = '! vtysh.conf (fabric-lab export): frr.conf is the only configuration file.\nservice integrated-vtysh-config\n';

export const RESPONDER_FILE = 'responder.py';
/** The emulator's responder, shipped as is (read like the templates: a file of this repository). */
const RESPONDER_SOURCE = () => readFileSync(path.join(repoRoot, 'emulator-configs', RESPONDER_FILE), 'utf8');

const heredoc = (cmd: string, lines: string[]) => (lines.length ? [`${cmd} <<'EOF'`, ...lines, 'EOF'] : []);
/** `net.ipv4.conf.X.proxy_arp=1` -> a write to /proc/sys (no sysctl binary needed; containerlab containers are privileged). */
function sysctlLine(s: string): string {
  const [key, value] = s.split('=');
  return `echo ${value} > /proc/sys/${key.replace(/\./g, '/')}`;
}
/** The lab is IPv4-only, but IPv6 stays on: containerlab's management network uses it. */
const sysctls = (c: NsConfig) => c.sysctls.filter((s) => !s.startsWith('net.ipv6.')).map(sysctlLine);

function scriptHead(plan: Plan, device: string, kind: DeviceKind | 'control-plane', what: string): string[] {
  return [
    '#!/bin/sh',
    `# ${device} (${kind}) of lab ${plan.name}: ${what}`,
    `# Generated by fabric-lab (lab export ${plan.name} --format containerlab); run once by containerlab's exec`,
    '# after the links are attached. The same commands the fabric-lab emulator runs, with',
    '# containerlab\'s interface names (eth0 is its management port).',
    'set -eu',
    '',
    `# Lab traffic leaves by the lab's own links, never by the management network (${MGMT_IFACE}).`,
    `ip route del default dev ${MGMT_IFACE} 2>/dev/null || true`,
  ];
}

function switchScript(plan: Plan, sw: Switch, c: NsConfig, map: Map<string, string>): string {
  const what = sw.bgp ? `loopback, port addresses${sw.bridge ? ', the rack bridge and its gateway' : ''} (FRR, started by the image, does BGP)` : 'the LAN bridge and its gateway address';
  return [
    ...scriptHead(plan, sw.name, sw.kind, what),
    ...sysctls(c),
    ...heredoc('ip -batch -', c.links.map((l) => renameWords(l, map))),
    '',
  ].join('\n');
}

function nodeScript(plan: Plan, node: string, c: NsConfig, pods: NsConfig[], map: Map<string, string>, x: NodeExtras): string {
  const k = plan.nodes.find((n) => n.name === node)!;
  const mtu = plan.networking === 'vxlan' ? k.vtep?.mtu : plan.networking === 'ipip' ? IPIP_MTU : undefined;
  const calico = plan.networking === 'vxlan' || plan.networking === 'bgp' || plan.networking === 'ipip';
  const podOf = new Map(plan.pods.map((p) => [p.name, p]));
  const cables = pods.map((pc) => {
    const p = podOf.get(pc.device)!;
    const opts = (mac: string | undefined) => [mac ? ` address ${mac}` : '', mtu ? ` mtu ${mtu}` : ''].join('');
    return `link add name ${p.hostIface}${opts(calico ? CALICO_HOST_MAC : undefined)} type veth peer name eth0 netns ${p.name}${opts(p.mac)}`;
  });
  const out = [
    ...scriptHead(plan, node, k.role === 'control-plane' ? 'control-plane' : 'node', `address, routes, ${plan.networking} dataplane, ${pods.length} pod${pods.length === 1 ? '' : 's'}`),
    '',
    '# Underlay: the node\'s port towards its leaf (plan eth0, here eth1) and its routes.',
    `ip link set ${map.get('eth0')} down`,
    `ip link set ${map.get('eth0')} address ${k.mac}`,
    ...heredoc('ip -batch -', c.links.map((l) => renameWords(l, map))),
  ];
  if (plan.networking === 'ipip') {
    out.push('', '# tunl0 exists only where the host kernel has the ipip module (modprobe ipip on the host).',
      '[ -e /sys/class/net/tunl0 ] || { echo "tunl0 missing: load the ipip module on the containerlab host (modprobe ipip)" >&2; exit 1; }');
  }
  if (pods.length) {
    out.push('', '# Pods: a network namespace each (named after the pod), cabled to the node by a veth.',
      ...heredoc('ip -batch -', [...pods.map((p) => `netns add ${p.device}`), ...cables]));
  }
  const dataplane = [...sysctls(c)];
  if (dataplane.length) out.push('', `# Kernel settings (forwarding${calico && pods.length ? '; proxy ARP on the pod veths, as Felix sets' : ''}).`, ...dataplane);
  if (c.dataplane.length) out.push('', `# ${plan.networking} dataplane, as ${calico ? 'Felix' : 'the bridge CNI'} programs it.`, ...heredoc('ip -batch -', c.dataplane.map((l) => renameWords(l, map))));
  if (c.fdb.length) out.push('', '# VXLAN forwarding entries: each remote VTEP MAC at its node\'s address.', ...heredoc('bridge -batch -', c.fdb.map((l) => renameWords(l, map))));
  for (const pc of pods) out.push('', `# Pod ${pc.device}.`, ...heredoc(`ip -n ${pc.device} -batch -`, pc.dataplane));
  if (x.iptables) {
    out.push('', '# Felix\'s and kube-proxy\'s rules (no NetworkPolicy), as the emulator loads them: each',
      '# iptables-restore replaces only the table its file holds.',
      `iptables-restore ${MOUNT}/iptables-filter.rules`, `iptables-restore ${MOUNT}/${NAT_FILE}`);
  }
  if (x.bird) out.push('', '# The node\'s BGP speaker, BIRD 2 (as in calico-node).', `bird -c ${MOUNT}/bird.conf -s /run/bird.ctl`);
  if (x.responder) {
    out.push('', '# Every pod answers TCP on its ports with its name (one process for the node\'s pods).',
      `nohup python3 ${MOUNT}/${RESPONDER_FILE} ${MOUNT}/responder.json </dev/null >/var/log/fabric-lab-responder.log 2>&1 &`);
  }
  out.push('');
  return out.join('\n');
}

function header(plan: Plan, o: ContainerlabOptions): string[] {
  const file = o.topologyFile;
  const bgpNodes = plan.nodes.some((n) => n.bgp);
  const lines = [
    `${plan.name}: ${plan.description}`,
    `containerlab topology exported by fabric-lab: lab export ${plan.name} --format containerlab`,
    '',
    `Run it:        containerlab deploy -t ${file}   (the configs are in ${o.configDir}/, bound into the nodes)`,
    `On Kubernetes: clabverter --topologyFile ${file} --stdout | kubectl apply -f -   (clabernetes; in this folder)`,
    `Images:        switches ${o.switchImage} (FRR, kind linux: frr.conf, daemons, vtysh.conf bound into /etc/frr);`,
    `               hosts ${o.hostImage} (needs iproute2${bgpNodes ? ', BIRD 2' : ''}, iptables, python3)`,
    'Interfaces:    eth0 is containerlab\'s management port; switch port i (swp<i>) is eth<i>, a node\'s',
    '               eth0 is eth1; frr.conf and the setup scripts use these names.',
    `Pods:          network namespaces inside their node's container, named after the pod (as the`,
    '               emulator makes them): ip netns exec POD ... in the node; no kubelet or API server.',
    '',
    'What the emulator does that this file does not:',
    '- lab verify, trace, fault, policy, capture, pods and shell work on the emulator only; here',
    '  use docker exec / containerlab exec (vtysh -c, ip, birdc, tcpdump -i eth1).',
    '- NetworkPolicies: the nodes load Felix\'s and kube-proxy\'s rules with no policy (lab policy apply',
    '  programs policies on the emulator only).',
    '- IPv6 stays on (the emulator turns it off): containerlab\'s management network uses it.',
    '- The management network (eth0, default 172.20.20.0/24) stays up in every container, its default',
    '  route removed; it must not overlap the lab\'s addresses.',
    '- Host settings the emulator makes for big labs (neighbour table thresholds, net.ipv4.neigh.default.',
    '  gc_thresh1..3) are the containerlab host\'s to make.',
    '- The setup scripts run once, at deploy: a container restarted alone loses its links (containerlab',
    '  re-creates them only on deploy); redeploy instead.',
  ];
  if (plan.networking === 'ipip') lines.push('- IPIP: the host kernel needs the ipip module (tunl0); the setup script stops if it is missing.');
  if (plan.switches.some((s) => s.os === 'cumulus')) lines.push('- The lab\'s switch OS is cumulus (libvirt flavour): here the switches run FRR\'s image, the same frr.conf.');
  return lines;
}
