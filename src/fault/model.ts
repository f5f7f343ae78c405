// Faults a teacher injects into a running lab (DESIGN section 8): pure part. Parses and
// checks the arguments against the plan (which devices exist, which are cabled), and
// turns a request into the commands that apply it and the ones that undo it. Nothing
// here touches the lab; src/fault/apply.ts runs the commands.
import { badInput } from '../errors.js';
import type { Link, Plan } from '../plan/types.js';
import type { Capabilities } from '../providers/types.js';
import { VXLAN_DEV } from './vxlan.js';

export type FaultKind = 'link' | 'netem' | 'daemon' | 'config';
export type Daemon = 'zebra' | 'bgpd' | 'bird';

/** One step: a command on a device, or a daemon stopped/started by the provider. */
export type Step =
  | { op: 'exec'; device: string; argv: string[] }
  | { op: 'daemon'; device: string; daemon: Daemon; action: 'stop' | 'start' };

/** A fault in force, as recorded in the lab's fault file. */
export interface FaultRecord {
  kind: FaultKind;
  /** What it is on: `leaf1 swp1 <-> spine-sw1 swp1`, `leaf2 bgpd`, `k8s-node-l2-1 vxlan.calico`. */
  target: string;
  /** What it does, in words. */
  detail: string;
  /** Same key = same fault (a new one replaces it; `link A B up` removes `link A B down`). */
  key: string;
  /** Devices it touches (to name it in the hints of the checks it breaks). */
  devices: string[];
  /** Undo, in order. */
  undo: Step[];
  at: string;
}

/** `lab fault list --json` (DESIGN 8.1): exactly these fields. */
export const listJson = (faults: FaultRecord[]) => faults.map((f) => ({ kind: f.kind, target: f.target, detail: f.detail }));

export interface Impairment {
  delay?: string;
  jitter?: string;
  loss?: string;
  rate?: string;
  corrupt?: string;
}

export type FaultRequest =
  | { what: 'link'; link: Link; state: 'down' | 'up' }
  | { what: 'netem'; link: Link; impairment: Impairment; ends: ('a' | 'b')[] }
  | { what: 'daemon'; device: string; daemon: Daemon; action: 'stop' | 'start' }
  | { what: 'peer-asn'; speaker: string; peer: string; peerIp: string; localAsn: number; correctAsn: number; wrongAsn: number }
  | { what: 'mtu'; link: Link; end: 'a' | 'b'; mtu: number }
  | { what: 'blackhole'; device: string; prefix: string }
  | { what: 'vni'; node: string; vni: number; was: number }
  | { what: 'list' }
  | { what: 'clear' };

export interface FaultOptions {
  delay?: string; jitter?: string; loss?: string; rate?: string; corrupt?: string;
  from?: string; asn?: string; mtu?: string; vni?: string; json?: boolean;
}

export const USAGE = [
  'lab fault LAB link A B down|up',
  'lab fault LAB link A B [--delay T] [--jitter T] [--loss P%] [--rate R] [--corrupt P%] [--from A]',
  'lab fault LAB daemon DEVICE bgpd|zebra|bird stop|start',
  'lab fault LAB peer-asn SWITCH PEER [--asn N]      (wrong remote AS on one side of a session)',
  'lab fault LAB mtu A B [--mtu N]                   (MTU of A\'s end of the link A-B; default 1400)',
  'lab fault LAB blackhole DEVICE PREFIX             (packets to PREFIX are dropped on DEVICE)',
  'lab fault LAB vni NODE [--vni N]                  (the node\'s VXLAN VNI changed; default VNI+1)',
  'lab fault LAB list [--json]',
  'lab fault LAB clear',
];

const usageError = (problems: string[]) => badInput(`${problems.join('\n')}\nusage:\n  ${USAGE.join('\n  ')}`);

// tc's syntax: a number and a time unit.
const DURATION = /^\d+(\.\d+)?(us|ms|s)$/;
const RATE = /^\d+(\.\d+)?(bit|kbit|mbit|gbit|tbit|bps|kbps|mbps|gbps|tbps)$/i;

function checkDuration(name: string, v: string | undefined, problems: string[]): void {
  if (v !== undefined && !DURATION.test(v)) problems.push(`--${name} "${v}" is not a duration: a number with us, ms or s, e.g. 20ms`);
}

/** "5%" or "5" -> "5%", within 0..100. */
function checkPercent(name: string, v: string | undefined, problems: string[]): string | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(v);
  if (!m || Number(m[1]) > 100) {
    problems.push(`--${name} "${v}" is not a percentage: a number from 0 to 100, e.g. 5%`);
    return undefined;
  }
  return `${m[1]}%`;
}

/** Names of every device (switches, nodes, pods). */
function deviceNames(plan: Plan): string[] {
  return [...plan.switches.map((s) => s.name), ...plan.nodes.map((n) => n.name), ...plan.pods.map((p) => p.name)];
}

/** A device by exact name or unique prefix (pod names are long). */
export function resolveDevice(plan: Plan, name: string, problems: string[]): string | undefined {
  const all = deviceNames(plan);
  if (all.includes(name)) return name;
  const m = all.filter((d) => d.startsWith(name));
  if (m.length === 1) return m[0];
  problems.push(m.length
    ? `device "${name}" is ambiguous in lab ${plan.name}: ${m.join(', ')}`
    : `no device "${name}" in lab ${plan.name}; devices: ${all.join(', ')}`);
  return undefined;
}

/** The cable between a and b, either end first. */
export function findLink(plan: Plan, a: string, b: string): Link | undefined {
  return plan.links.find((l) => (l.a.device === a && l.b.device === b) || (l.a.device === b && l.b.device === a));
}

function resolveLink(plan: Plan, aName: string | undefined, bName: string | undefined, problems: string[]): Link | undefined {
  if (!aName || !bName) {
    problems.push('give the two devices at the ends of the link: A B');
    return undefined;
  }
  const a = resolveDevice(plan, aName, problems);
  const b = resolveDevice(plan, bName, problems);
  if (!a || !b) return undefined;
  const link = findLink(plan, a, b);
  if (!link) {
    const peers = plan.links.filter((l) => l.a.device === a || l.b.device === a).map((l) => (l.a.device === a ? l.b.device : l.a.device));
    problems.push(`no link between ${a} and ${b} in lab ${plan.name}; ${a} is cabled to ${peers.join(', ') || 'nothing'}`);
  }
  return link;
}

export const linkName = (l: Link) => `${l.a.device} ${l.a.iface} <-> ${l.b.device} ${l.b.iface}`;
const linkKey = (l: Link) => [`${l.a.device}/${l.a.iface}`, `${l.b.device}/${l.b.iface}`].sort().join(' ');

function daemonsOf(plan: Plan, device: string): Daemon[] {
  const sw = plan.switches.find((s) => s.name === device);
  if (sw) return sw.bgp ? ['zebra', 'bgpd'] : [];
  const node = plan.nodes.find((n) => n.name === device);
  return node?.bgp ? ['bird'] : [];
}

/** Pure: the request an argument list asks for, checked against the plan; every problem at once (exit 2). */
export function parseFault(plan: Plan, what: string, args: string[], o: FaultOptions): FaultRequest {
  const problems: string[] = [];
  const extra = (n: number) => { if (args.length > n) problems.push(`unexpected argument${args.length - n > 1 ? 's' : ''}: ${args.slice(n).join(' ')}`); };
  const impairmentGiven = ['delay', 'jitter', 'loss', 'rate', 'corrupt', 'from'].filter((k) => o[k as keyof FaultOptions] !== undefined);
  const onlyFor = (allowed: string[]) => {
    const bad = ['delay', 'jitter', 'loss', 'rate', 'corrupt', 'from', 'asn', 'mtu', 'vni'].filter((k) => o[k as keyof FaultOptions] !== undefined && !allowed.includes(k));
    if (bad.length) problems.push(`${bad.map((k) => `--${k}`).join(', ')} ${bad.length > 1 ? 'do' : 'does'} not apply to \`fault ${what}\``);
  };
  const fail = (): never => { throw usageError(problems); };

  switch (what) {
    case 'list': case 'clear': {
      extra(0);
      onlyFor([]);
      if (problems.length) fail();
      return { what };
    }
    case 'link': {
      const link = resolveLink(plan, args[0], args[1], problems);
      const state = args[2];
      if (state !== undefined && state !== 'down' && state !== 'up') problems.push(`link state must be down or up, got "${state}"`);
      extra(3);
      if (state && impairmentGiven.length) problems.push(`give either ${state} or impairments (${impairmentGiven.map((k) => `--${k}`).join(', ')}), not both`);
      if (!state && !impairmentGiven.length) problems.push('say what to do with the link: down, up, or impairments such as --delay 20ms');
      if (state) {
        onlyFor([]);
        if (problems.length || !link) fail();
        return { what: 'link', link: link!, state: state as 'down' | 'up' };
      }
      onlyFor(['delay', 'jitter', 'loss', 'rate', 'corrupt', 'from']);
      checkDuration('delay', o.delay, problems);
      checkDuration('jitter', o.jitter, problems);
      if (o.jitter !== undefined && o.delay === undefined) problems.push('--jitter needs --delay');
      if (o.rate !== undefined && !RATE.test(o.rate)) problems.push(`--rate "${o.rate}" is not a rate: a number with bit, kbit, mbit or gbit, e.g. 10mbit`);
      const loss = checkPercent('loss', o.loss, problems);
      const corrupt = checkPercent('corrupt', o.corrupt, problems);
      if (impairmentGiven.length === 1 && o.from !== undefined) problems.push('--from says which end sends: give an impairment too, e.g. --delay 20ms');
      let ends: ('a' | 'b')[] = ['a', 'b'];
      if (o.from !== undefined && link) {
        const from = resolveDevice(plan, o.from, problems);
        if (from && from !== link.a.device && from !== link.b.device) problems.push(`--from ${from} is not an end of the link ${linkName(link)}`);
        else if (from) ends = [from === link.a.device ? 'a' : 'b'];
      }
      if (problems.length || !link) fail();
      const impairment: Impairment = { delay: o.delay, jitter: o.jitter, loss, rate: o.rate, corrupt };
      return { what: 'netem', link: link!, impairment, ends };
    }
    case 'daemon': {
      const device = args[0] === undefined ? (problems.push('give the device: lab fault LAB daemon DEVICE bgpd|zebra|bird stop|start'), undefined) : resolveDevice(plan, args[0], problems);
      const daemon = args[1];
      const action = args[2];
      if (daemon !== undefined && !['zebra', 'bgpd', 'bird'].includes(daemon)) problems.push(`daemon must be bgpd, zebra or bird, got "${daemon}"`);
      else if (daemon === undefined) problems.push('give the daemon: bgpd, zebra or bird');
      else if (device) {
        const has = daemonsOf(plan, device);
        if (!has.includes(daemon as Daemon)) problems.push(`${device} runs ${has.length ? has.join(' and ') : 'no routing daemon'} in this lab, not ${daemon}`);
      }
      if (action !== 'stop' && action !== 'start') problems.push(`say stop or start${action === undefined ? '' : `, got "${action}"`}`);
      extra(3);
      onlyFor([]);
      if (problems.length) fail();
      return { what: 'daemon', device: device!, daemon: daemon as Daemon, action: action as 'stop' | 'start' };
    }
    case 'peer-asn': {
      const speaker = args[0] === undefined ? undefined : resolveDevice(plan, args[0], problems);
      const peer = args[1] === undefined ? undefined : resolveDevice(plan, args[1], problems);
      if (!args[0] || !args[1]) problems.push('give the switch whose configuration changes and its peer: peer-asn SWITCH PEER');
      extra(2);
      onlyFor(['asn']);
      const sw = plan.switches.find((s) => s.name === speaker);
      let n: { ip: string; remoteAsn: number } | undefined;
      if (speaker && !sw?.bgp) problems.push(`${speaker} is not a switch running FRR: peer-asn changes a switch's BGP configuration`);
      else if (sw?.bgp && peer) {
        n = sw.bgp.neighbors.find((x) => x.peer === peer);
        if (!n) {
          const configured = sw.bgp.neighbors.map((x) => x.peer);
          problems.push(`${speaker} has no configured BGP neighbour ${peer}${configured.length ? `; its neighbours: ${configured.join(', ')}` : ''}${sw.bgp.listen ? ` (rack nodes peer through \`bgp listen range\`, which has no per-node remote AS)` : ''}`);
        }
      }
      let wrong: number | undefined;
      if (o.asn !== undefined) {
        wrong = /^\d+$/.test(o.asn) ? Number(o.asn) : NaN;
        if (!(wrong >= 1 && wrong <= 4294967295)) problems.push(`--asn "${o.asn}" is not an AS number (1 to 4294967295)`);
        else if (n && wrong === n.remoteAsn) problems.push(`--asn ${wrong} is ${peer}'s real AS: give a wrong one`);
      }
      if (problems.length || !n) fail();
      return {
        what: 'peer-asn', speaker: speaker!, peer: peer!, peerIp: n!.ip, localAsn: sw!.bgp!.asn, correctAsn: n!.remoteAsn,
        wrongAsn: wrong ?? (n!.remoteAsn === 64999 ? 64998 : 64999),
      };
    }
    case 'mtu': {
      const link = resolveLink(plan, args[0], args[1], problems);
      extra(2);
      onlyFor(['mtu']);
      const mtu = o.mtu === undefined ? 1400 : /^\d+$/.test(o.mtu) ? Number(o.mtu) : NaN;
      if (!(mtu >= 68 && mtu <= 65535)) problems.push(`--mtu "${o.mtu}" is not an MTU (68 to 65535)`);
      if (problems.length || !link) fail();
      const a = resolveDevice(plan, args[0], []);
      return { what: 'mtu', link: link!, end: link!.a.device === a ? 'a' : 'b', mtu };
    }
    case 'blackhole': {
      const device = args[0] === undefined ? undefined : resolveDevice(plan, args[0], problems);
      const prefix = args[1];
      if (!args[0] || !prefix) problems.push('give the device and the prefix: blackhole DEVICE PREFIX, e.g. blackhole leaf2 10.0.101.0/24');
      if (device && plan.pods.some((p) => p.name === device)) problems.push(`${device} is a pod: blackhole a route on a switch or node`);
      if (prefix && !isCidr(prefix)) problems.push(`"${prefix}" is not an IPv4 prefix such as 10.0.101.0/24 (host bits zero)`);
      extra(2);
      onlyFor([]);
      if (problems.length) fail();
      return { what: 'blackhole', device: device!, prefix: prefix! };
    }
    case 'vni': {
      const node = args[0] === undefined ? undefined : resolveDevice(plan, args[0], problems);
      if (!args[0]) problems.push('give the node: vni NODE [--vni N]');
      extra(1);
      onlyFor(['vni']);
      const n = plan.nodes.find((x) => x.name === node);
      if (node && !n?.vtep) problems.push(`${node} has no VXLAN device in this lab (${plan.networking}): vni needs Calico VXLAN mode`);
      let vni: number | undefined;
      if (o.vni !== undefined) {
        vni = /^\d+$/.test(o.vni) ? Number(o.vni) : NaN;
        if (!(vni >= 1 && vni <= 16777215)) problems.push(`--vni "${o.vni}" is not a VNI (1 to 16777215)`);
        else if (n?.vtep && vni === n.vtep.vni) problems.push(`--vni ${vni} is the lab's VNI: give another`);
      }
      if (problems.length || !n?.vtep) fail();
      return { what: 'vni', node: node!, was: n!.vtep!.vni, vni: vni ?? n!.vtep!.vni + 1 };
    }
    default:
      problems.push(`unknown fault "${what}": link, daemon, peer-asn, mtu, blackhole, vni, list or clear`);
      return fail();
  }
}

export function isCidr(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return false;
  const o = m.slice(1, 5).map(Number);
  const len = Number(m[5]);
  if (o.some((x) => x > 255) || len > 32) return false;
  const n = ((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3];
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((n & ~mask) >>> 0) === 0;
}

/** Which end of a link to take down: switch ports (FRR follows them); on a node-pod link the node's veth. */
export function downEnds(plan: Plan, link: Link): ('a' | 'b')[] {
  const isSwitch = (d: string) => plan.switches.some((s) => s.name === d);
  const ends = (['a', 'b'] as const).filter((e) => isSwitch(link[e].device));
  if (ends.length) return [...ends];
  return [plan.pods.some((p) => p.name === link.a.device) ? 'b' : 'a'];
}

/** tc/nft commands for an impairment on one interface's egress. netem when the kernel has it; else tbf + nftables. */
export function impairmentCommands(iface: string, imp: Impairment, netem: boolean): { apply: string[][]; undo: string[][] } | { lacks: string } {
  if (netem) {
    const args = [
      ...(imp.delay ? ['delay', imp.delay, ...(imp.jitter ? [imp.jitter] : [])] : []),
      ...(imp.loss ? ['loss', imp.loss] : []),
      ...(imp.rate ? ['rate', imp.rate] : []),
      ...(imp.corrupt ? ['corrupt', imp.corrupt] : []),
    ];
    return { apply: [['tc', 'qdisc', 'replace', 'dev', iface, 'root', 'netem', ...args]], undo: [['tc', 'qdisc', 'del', 'dev', iface, 'root']] };
  }
  const need = (['delay', 'jitter', 'corrupt'] as const).filter((k) => imp[k]);
  if (need.length) {
    return {
      lacks: `this kernel has no netem queueing discipline (kernel module sch_netem, CONFIG_NET_SCH_NETEM: \`tc qdisc ... netem\` answers "Specified qdisc kind is unknown"), `
        + `which ${need.map((k) => `--${k}`).join(' and ')} need${need.length > 1 ? '' : 's'}; nothing was changed. `
        + `To delay or corrupt packets, load it (\`modprobe sch_netem\`, where the kernel ships it) or run the lab on a kernel that has it `
        + `(a stock Debian kernel does: the qemu guest of \`npm run test:ipip\`, or the libvirt provider's VMs). `
        + `Without it --loss (nftables) and --rate (tbf) work`,
    };
  }
  const apply: string[][] = [];
  const undo: string[][] = [];
  if (imp.rate) {
    apply.push(['tc', 'qdisc', 'replace', 'dev', iface, 'root', 'tbf', 'rate', imp.rate, 'burst', '32kbit', 'latency', '400ms']);
    undo.push(['tc', 'qdisc', 'del', 'dev', iface, 'root']);
  }
  if (imp.loss) {
    const table = nftTable(iface);
    // Per mille, so 0.5% works; 100% drops everything (numgen's range ends at mod-1).
    const permille = Math.round(Number(imp.loss.replace('%', '')) * 10);
    const rule = permille >= 1000 ? 'drop' : `numgen random mod 1000 < ${permille} drop`;
    // Replace an earlier one on the same port (delete fails harmlessly when absent).
    apply.push(['sh', '-c', `${NFT} delete table netdev ${table} 2>/dev/null; ${NFT} -f - <<'EOF'\ntable netdev ${table} {\n  chain egress { type filter hook egress device "${iface}" priority 0; ${rule}; }\n}\nEOF`]);
    undo.push([NFT, 'delete', 'table', 'netdev', table]);
  }
  return { apply, undo };
}

// By full path: under npm scripts node_modules/.bin comes first in PATH, and a package there is called nft too.
const NFT = '/usr/sbin/nft';
const nftTable = (iface: string) => `fabric_lab_fault_${iface.replace(/[^A-Za-z0-9_]/g, '_')}`;

export function describeImpairment(imp: Impairment): string {
  return [
    imp.delay && `delay ${imp.delay}${imp.jitter ? ` ± ${imp.jitter}` : ''}`,
    imp.loss && `loss ${imp.loss}`,
    imp.rate && `rate ${imp.rate}`,
    imp.corrupt && `corrupt ${imp.corrupt}`,
  ].filter(Boolean).join(', ');
}

/**
 * A change to a switch's BGP configuration, made live and saved (`write memory`) into the
 * config file the daemons read, so it survives a bgpd restart (`lab fault LAB daemon
 * SWITCH bgpd stop/start`, or a student's own); undo saves the correct value the same way.
 */
export const vtyConfig = (asn: number, lines: string[]) => ['vtysh', '-c', 'configure terminal', '-c', `router bgp ${asn}`, ...lines.flatMap((l) => ['-c', l]), '-c', 'end', '-c', 'write memory'];

/** Fault keys, so a repeated fault replaces the earlier one and its opposite removes it. */
export function faultKey(req: FaultRequest): string {
  switch (req.what) {
    case 'link': return `link ${linkKey(req.link)}`;
    case 'netem': return `netem ${linkKey(req.link)}`;
    case 'daemon': return `daemon ${req.device} ${req.daemon}`;
    case 'peer-asn': return `peer-asn ${req.speaker} ${req.peer}`;
    case 'mtu': return `mtu ${req.link[req.end].device}/${req.link[req.end].iface}`;
    case 'blackhole': return `blackhole ${req.device} ${req.prefix}`;
    case 'vni': return `vni ${req.node}`;
    default: return req.what;
  }
}

/** Pure: the one-line hint a failed verify check gets while faults are in force. */
export function faultHint(lab: string, subject: string, faults: FaultRecord[]): string | undefined {
  if (!faults.length) return undefined;
  const words = new Set(subject.split(/[\s(),:]+/).filter(Boolean));
  const mentions = (f: FaultRecord) => f.devices.some((d) => words.has(d));
  const related = faults.filter(mentions);
  const shown = related.length ? related : faults;
  return `fault${shown.length > 1 ? 's' : ''} in force: ${shown.map((f) => `${f.kind} ${f.target} (${f.detail.split(/[:(]/)[0].trim()})`).join('; ')} (\`lab fault ${lab} list\`; undo all with \`lab fault ${lab} clear\`)`;
}

/**
 * Pure: why this provider cannot apply the request the way the tool does everywhere else,
 * or undefined. Faults run the same commands through every provider's exec (SSH on
 * libvirt); what they cannot reach is said up front (exit 4), before anything changes.
 */
export function cannotApply(plan: Plan, caps: Capabilities, providerName: string, lab: string, req: FaultRequest): string | undefined {
  if (caps.podDataplane === 'planned') return undefined;
  const real = `on the ${providerName} provider pods are real Kubernetes pods, wired by Calico with names of its own`;
  if ((req.what === 'link' || req.what === 'netem' || req.what === 'mtu') && plan.pods.some((p) => p.name === req.link.a.device || p.name === req.link.b.device)) {
    const node = plan.pods.some((p) => p.name === req.link.a.device) ? req.link.b.device : req.link.a.device;
    const leaf = plan.links.find((l) => l.kind === 'access' && (l.a.device === node || l.b.device === node));
    const other = leaf ? (leaf.a.device === node ? leaf.b.device : leaf.a.device) : undefined;
    return `${real}, so the pod's cable (${linkName(req.link)}) cannot be named from the plan; `
      + `fault the node's own cable instead${other ? ` (lab fault ${lab} ${req.what === 'netem' ? 'link' : req.what} ${node} ${other} ...)` : ''}, `
      + `or find the pod's interface with \`lab exec ${lab} ${node} -- ip route get POD-IP\``;
  }
  if (req.what === 'vni') {
    return `${real}: Felix owns ${VXLAN_DEV} on ${req.node} and would rebuild it with the pool's VNI within seconds; `
      + `change the VNI the Calico way instead (FelixConfiguration vxlanVNI, with calicoctl on the control plane)`;
  }
  return undefined;
}
