// `lab graph`: the topology as a pure model, then Mermaid or Graphviz DOT text. The plan
// gives the devices, addresses and cables; a running lab's observations (what the ports
// and BGP sessions really are) colour it; faults in force are marked.
import type { Plan } from '../plan/types.js';
import type { FaultRecord } from '../fault/model.js';

export type State = 'up' | 'down' | 'degraded' | 'unknown' | 'planned';

export interface GraphDevice {
  id: string;
  kind: 'spine' | 'leaf' | 'lan-switch' | 'node';
  /** Lines of the label: name first. */
  label: string[];
  state: State;
  /** Why the state (a daemon down, a fault). */
  note?: string;
}

export interface GraphEdge {
  id: string;
  a: string;
  b: string;
  kind: 'fabric' | 'access' | 'bgp';
  /** Address or port at each end. */
  aLabel: string;
  bLabel: string;
  state: State;
  /** BGP sessions over it, and their observed state. */
  sessions: string[];
  /** Fault in force on it (target: detail). */
  fault?: string;
}

export interface GraphModel {
  lab: string;
  running: boolean;
  groups: { id: string; label: string; members: string[] }[];
  devices: GraphDevice[];
  edges: GraphEdge[];
}

/** What was observed on a running lab (absent entries could not be observed). */
export interface GraphObservation {
  /** Operational state of each port: `device/iface` -> up or down. */
  ports: Map<string, 'up' | 'down'>;
  /** BGP session state seen by the speaker: `speaker>peerIp` -> Established, Active... */
  sessions: Map<string, string>;
  /** Devices whose routing daemons could not be observed, and why. */
  unobserved: Map<string, string>;
  /** Speakers whose session table was read: a session missing from it is down, not unknown. */
  speakers: Set<string>;
}

export const COLORS: Record<State, string> = {
  up: '#2e7d32', down: '#c62828', degraded: '#ef6c00', unknown: '#9e9e9e', planned: '#455a64',
};

const cidr = (a?: { ip: string; prefixLen: number }) => (a ? `${a.ip}/${a.prefixLen}` : '');

/** Pure: the model of a plan, coloured by what was observed (undefined: not running). */
export function graphModel(plan: Plan, obs?: GraphObservation, faults: FaultRecord[] = []): GraphModel {
  const devices: GraphDevice[] = [];
  for (const s of plan.switches) {
    const label = [s.name, s.bgp ? `AS ${s.bgp.asn}` : s.kind, ...(s.loopback ? [`lo ${s.loopback}`] : []), ...(s.bridge ? [`${s.bridge.name} ${cidr(s.bridge.addr)}`] : [])];
    devices.push({ id: s.name, kind: s.kind, label, state: obs ? 'up' : 'planned' });
  }
  for (const n of plan.nodes) {
    const pods = plan.pods.filter((p) => p.node === n.name).length;
    const label = [n.name, `${n.iface} ${cidr(n.addr)}`, ...n.blocks.map((b) => `pods ${b}${pods ? ` (${pods})` : ''}`), ...(n.bgp ? [`AS ${n.bgp.asn}`] : []), ...(n.vtep ? [`VTEP ${n.vtep.ip} VNI ${n.vtep.vni}`] : [])];
    devices.push({ id: n.name, kind: 'node', label, state: obs ? 'up' : 'planned' });
  }
  const byId = new Map(devices.map((d) => [d.id, d]));
  if (obs) {
    for (const [dev, why] of obs.unobserved) {
      const d = byId.get(dev);
      if (d) { d.state = 'down'; d.note = why.length > 60 ? `${why.slice(0, 57)}...` : why; }
    }
  }

  // BGP sessions, each pair once (both speakers' views combined).
  const sessionState = (speaker: string, peerIp: string) => obs?.sessions.get(`${speaker}>${peerIp}`);
  const pairState = new Map<string, { text: string; state: State }>();
  for (const s of plan.intent.sessions) {
    const key = [s.speaker, s.peer].sort().join(' ');
    const read = obs?.speakers.has(s.speaker);
    // FRR drops a dynamic (listen range) neighbour that is gone: absent from a table read means down.
    const seen = sessionState(s.speaker, s.peerIp) ?? (read ? 'not up' : undefined);
    const st: State = !obs ? 'planned' : seen === undefined ? 'unknown' : seen === 'Established' ? 'up' : 'down';
    const prev = pairState.get(key);
    // The worse of the two views wins: one side Established and the other not is not up.
    const rank: State[] = ['planned', 'up', 'unknown', 'degraded', 'down'];
    if (!prev || rank.indexOf(st) > rank.indexOf(prev.state)) pairState.set(key, { text: obs ? `BGP ${seen ?? 'not observed'}` : `${s.kind === 'ebgp' ? 'eBGP' : 'iBGP'} ${s.localAsn}-${s.remoteAsn}`, state: st });
  }

  const edges: GraphEdge[] = [];
  const faultOn = (devs: string[]) => faults.find((f) => (f.kind === 'link' || f.kind === 'netem' || f.kind === 'config') && devs.every((d) => f.devices.includes(d)) && f.devices.length === devs.length);
  const usedPairs = new Set<string>();
  for (const l of plan.links) {
    if (l.kind === 'pod') continue;
    const key = [l.a.device, l.b.device].sort().join(' ');
    const session = pairState.get(key);
    if (session) usedPairs.add(key);
    const portStates = obs ? [obs.ports.get(`${l.a.device}/${l.a.iface}`), obs.ports.get(`${l.b.device}/${l.b.iface}`)] : [];
    let state: State = obs ? 'up' : 'planned';
    if (obs) {
      if (portStates.includes('down')) state = 'down';
      else if (portStates.every((p) => p === undefined)) state = 'unknown';
      if (state === 'up' && session && session.state !== 'up') state = session.state === 'unknown' ? 'unknown' : 'degraded';
    }
    const f = faultOn([l.a.device, l.b.device]);
    edges.push({
      id: `${l.a.device}/${l.a.iface}--${l.b.device}/${l.b.iface}`,
      a: l.a.device, b: l.b.device, kind: l.kind,
      aLabel: l.a.addr ? `${l.a.iface} ${cidr(l.a.addr)}` : l.a.iface,
      bLabel: l.b.addr ? `${l.b.iface} ${cidr(l.b.addr)}` : l.b.iface,
      state, sessions: session ? [session.text] : [],
      ...(f ? { fault: `${f.kind} ${f.detail.split(/[:(]/)[0].trim()}` } : {}),
    });
  }
  // Sessions not over a single cable (a node mesh, a session to a remote speaker).
  for (const [key, s] of pairState) {
    if (usedPairs.has(key)) continue;
    const [a, b] = key.split(' ');
    edges.push({ id: `bgp:${a}--${b}`, a, b, kind: 'bgp', aLabel: '', bLabel: '', state: s.state, sessions: [s.text] });
  }
  // Device faults (a daemon stopped, a VNI changed, a blackhole) mark the device.
  for (const f of faults) {
    if (f.devices.length !== 1) continue;
    const d = byId.get(f.devices[0]);
    if (!d) continue;
    // The fault explains the device better than the error of the observation it causes.
    d.note = `fault: ${f.detail}`;
    if (f.kind === 'daemon') d.state = obs ? 'down' : d.state;
  }

  const racks = plan.switches.filter((s) => s.kind === 'leaf' || s.kind === 'lan-switch').map((s) => ({
    id: s.name,
    label: s.kind === 'leaf' ? `rack ${s.name}${s.bridge ? ` ${s.bridge.addr.ip.replace(/\.\d+$/, '.0')}/${s.bridge.addr.prefixLen}` : ''}` : `LAN ${s.name}`,
    members: [s.name, ...plan.nodes.filter((n) => n.attachedTo === s.name).map((n) => n.name)],
  }));
  return { lab: plan.name, running: !!obs, groups: racks, devices, edges };
}

const legend = 'green: up / Established; orange: link up, BGP not Established; red: down; grey: not observed';

// --- Mermaid ---------------------------------------------------------------------------

const mid = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');
const mtext = (s: string) => s.replace(/"/g, '#quot;');

export function toMermaid(m: GraphModel): string {
  const out: string[] = ['flowchart TB'];
  const node = (d: GraphDevice) => {
    const shape = d.kind === 'node' ? ['(', ')'] : ['[', ']'];
    const lines = [...d.label.map((l, i) => (i === 0 ? `<b>${l}</b>` : l)), ...(d.note ? [`⚠ ${d.note}`] : [])];
    return `${mid(d.id)}${shape[0]}"${mtext(lines.join('<br/>'))}"${shape[1]}:::${d.state}`;
  };
  const grouped = new Set(m.groups.flatMap((g) => g.members));
  const spines = m.devices.filter((d) => d.kind === 'spine');
  if (spines.length) {
    out.push('  subgraph spines["spines"]', '    direction LR', ...spines.map((d) => `    ${node(d)}`), '  end');
  }
  for (const g of m.groups) {
    out.push(`  subgraph ${mid(`rack_${g.id}`)}["${mtext(g.label)}"]`, '    direction TB');
    for (const id of g.members) out.push(`    ${node(m.devices.find((d) => d.id === id)!)}`);
    out.push('  end');
  }
  for (const d of m.devices) if (d.kind !== 'spine' && !grouped.has(d.id)) out.push(`  ${node(d)}`);
  m.edges.forEach((e) => {
    const text = [e.aLabel && `${e.a} ${e.aLabel}`, e.bLabel && `${e.b} ${e.bLabel}`, ...e.sessions, ...(e.fault ? [`⚠ ${e.fault}`] : [])].filter(Boolean).join('<br/>');
    const arrow = e.kind === 'bgp' ? '-.-' : e.state === 'down' ? '-.-' : '---';
    out.push(`  ${mid(e.a)} ${arrow}|"${mtext(text)}"| ${mid(e.b)}`);
  });
  m.edges.forEach((e, i) => out.push(`  linkStyle ${i} stroke:${COLORS[e.state]},stroke-width:${e.fault ? 4 : 2}px${e.state === 'down' || e.fault ? ',stroke-dasharray:6 4' : ''}`));
  for (const [state, color] of Object.entries(COLORS)) out.push(`  classDef ${state} stroke:${color},stroke-width:2px${state === 'down' ? ',fill:#ffebee' : ''}`);
  out.push(`%% ${m.lab}${m.running ? `: ${legend}` : ': planned (not running)'}`);
  return out.join('\n') + '\n';
}

// --- Graphviz DOT ------------------------------------------------------------------------

// Labels never hold a backslash of their own: `\n` in one is DOT's line break.
const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
const html = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function toDot(m: GraphModel): string {
  // Large fabrics: the uplink addresses move into the leaf boxes (edge labels would pile
  // up at the spines) and session texts into tooltips; colours still say the state.
  const big = m.devices.length > 20 || m.edges.filter((e) => e.kind === 'fabric').length > 16;
  const out: string[] = [
    `graph ${q(m.lab)} {`,
    `  graph [rankdir=TB, fontname="Helvetica", fontsize=12, nodesep=${big ? 0.15 : 0.4}, ranksep=${big ? 1.6 : 1.1}, newrank=true, label=${q(`${m.lab}: ${m.running ? legend : 'planned (not running)'}`)}, labelloc=t];`,
    `  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", fontsize=${big ? 9 : 10}, penwidth=2];`,
    `  edge [fontname="Helvetica", fontsize=${big ? 7 : 8}, penwidth=2];`,
  ];
  const uplinks = (d: GraphDevice) => (big && d.kind === 'leaf'
    ? m.edges.filter((e) => e.kind === 'fabric' && (e.a === d.id || e.b === d.id)).map((e) => (e.a === d.id ? `${e.aLabel} - ${e.b}` : `${e.bLabel} - ${e.a}`))
    : []);
  const node = (d: GraphDevice) => {
    const rows = [...d.label, ...uplinks(d)].map((l, i) => (i === 0 ? `<B>${html(l)}</B>` : html(l)));
    if (d.note) rows.push(`<FONT COLOR="${COLORS.down}">${html(d.note)}</FONT>`);
    const fill = d.state === 'down' ? '#ffebee' : d.kind === 'node' ? '#f5f5f5' : '#ffffff';
    return `${q(d.id)} [label=<${rows.join('<BR/>')}>, color=${q(COLORS[d.state])}, fillcolor=${q(fill)}${d.kind === 'node' ? ', shape=box, style="filled"' : ''}, tooltip=${q(d.label.join(' | '))}];`;
  };
  const spines = m.devices.filter((d) => d.kind === 'spine');
  if (spines.length) {
    out.push('  { rank=same;', ...spines.map((d) => `    ${node(d)}`), '  }');
    // Keep the spines in plan order, left to right.
    if (spines.length > 1) out.push(`  ${spines.map((d) => q(d.id)).join(' -- ')} [style=invis];`);
  }
  for (const g of m.groups) {
    out.push(`  subgraph ${q(`cluster_${g.id}`)} {`, `    label=${q(g.label)}; style="rounded,dashed"; color="#90a4ae"; fontsize=${big ? 9 : 11};`);
    for (const id of g.members) out.push(`    ${node(m.devices.find((d) => d.id === id)!)}`);
    out.push('  }');
  }
  const grouped = new Set(m.groups.flatMap((g) => g.members));
  for (const d of m.devices) if (d.kind !== 'spine' && !grouped.has(d.id)) out.push(`  ${node(d)}`);
  // Leaves on one rank so the racks sit side by side under the spines.
  const leaves = m.devices.filter((d) => d.kind === 'leaf' || d.kind === 'lan-switch');
  if (leaves.length) out.push(`  { rank=same; ${leaves.map((d) => q(d.id)).join('; ')}; }`);
  if (leaves.length > 1) out.push(`  ${leaves.map((d) => q(d.id)).join(' -- ')} [style=invis];`);
  for (const e of m.edges) {
    const attrs: string[] = [`color=${q(COLORS[e.state])}`, `id=${q(e.id)}`];
    if (e.kind === 'bgp' || e.state === 'down' || e.fault) attrs.push('style=dashed');
    if (e.fault) attrs.push('penwidth=4');
    // Addresses at the ends; sessions and faults in the middle.
    if (!big && e.aLabel) attrs.push(`taillabel=${q(e.aLabel.replace(/^\S+ /, ''))}`);
    if (!big && e.bLabel) attrs.push(`headlabel=${q(e.bLabel.replace(/^\S+ /, ''))}`);
    const mid = [...e.sessions, ...(e.fault ? [`FAULT ${e.fault}`] : [])];
    if (mid.length && !big) attrs.push(`label=${q(mid.join('\\n'))}`);
    else if (e.fault) attrs.push(`label=${q('FAULT')}`);
    attrs.push(`tooltip=${q([`${e.a} ${e.aLabel}`, `${e.b} ${e.bLabel}`, ...mid].join(' | '))}`);
    if (e.kind === 'access' && !big) attrs.push('labelfontsize=7');
    out.push(`  ${q(e.a)} -- ${q(e.b)} [${attrs.join(', ')}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}
