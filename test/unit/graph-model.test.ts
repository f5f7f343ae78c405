import test from 'ava';
import { execa } from 'execa';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { COLORS, graphModel, toDot, toMermaid, type GraphObservation } from '../../src/graph/model.js';
import type { FaultRecord } from '../../src/fault/model.js';
import type { Plan } from '../../src/plan/types.js';

const vx = async () => plan(await loadLab('calico-vxlan'));

/** Every port up and every intended session Established, as on a healthy lab. */
function healthy(p: Plan): GraphObservation {
  const obs: GraphObservation = { ports: new Map(), sessions: new Map(), unobserved: new Map(), speakers: new Set(p.intent.sessions.map((s) => s.speaker)) };
  for (const l of p.links) for (const e of [l.a, l.b]) obs.ports.set(`${e.device}/${e.iface}`, 'up');
  for (const s of p.intent.sessions) obs.sessions.set(`${s.speaker}>${s.peerIp}`, 'Established');
  return obs;
}

/** Minimal XML well-formedness: every tag closed in order, one root. */
function wellFormed(xml: string): boolean {
  const body = xml.replace(/<\?xml[^>]*\?>/, '').replace(/<!DOCTYPE[^>]*>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const stack: string[] = [];
  let roots = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)[^>]*?(\/?)>/g)) {
    if (m[1]) { if (stack.pop() !== m[2]) return false; }
    else if (!m[3]) { if (!stack.length) roots++; stack.push(m[2]); }
  }
  return stack.length === 0 && roots === 1;
}

test('planned graph: every switch and node, every cable but pod veths, racks grouped, ASN/loopback/addresses', async (t) => {
  const p = await vx();
  const m = graphModel(p);
  t.deepEqual(m.devices.map((d) => d.id).sort(), [...p.switches, ...p.nodes].map((d) => d.name).sort());
  t.is(m.edges.length, p.links.filter((l) => l.kind !== 'pod').length);
  t.deepEqual(m.groups.map((g) => g.members), [['leaf1', 'k8s-master-l1-1', 'k8s-node-l1-1', 'k8s-node-l1-2'], ['leaf2', 'k8s-node-l2-1', 'k8s-node-l2-2']]);
  t.deepEqual(m.devices.find((d) => d.id === 'spine-sw1')!.label, ['spine-sw1', 'AS 65001', 'lo 172.16.255.1']);
  t.true(m.devices.find((d) => d.id === 'k8s-node-l2-1')!.label.includes('pods 10.64.0.192/26 (1)'));
  t.true(m.edges.every((e) => e.state === 'planned'));
  const dot = toDot(m);
  t.regex(dot, /taillabel="172.16.0.0\/31", headlabel="172.16.0.1\/31"/);
  t.regex(toMermaid(m), /subgraph rack_leaf1\["rack leaf1 10.0.101.0\/24"\]/);
});

test('observed: a port down is red, a session not Established on a live cable orange, faults marked', async (t) => {
  const p = await vx();
  const obs = healthy(p);
  obs.ports.set('leaf1/swp1', 'down');
  obs.sessions.set('leaf2>172.16.0.6', 'Active');
  const fault: FaultRecord = { kind: 'link', target: 'spine-sw1 swp1 <-> leaf1 swp1', detail: 'down', key: 'k', devices: ['spine-sw1', 'leaf1'], undo: [], at: '' };
  const daemon: FaultRecord = { kind: 'daemon', target: 'leaf2 bgpd', detail: 'bgpd stopped', key: 'd', devices: ['leaf2'], undo: [], at: '' };
  const m = graphModel(p, obs, [fault, daemon]);
  const edge = (a: string, b: string) => m.edges.find((e) => e.a === a && e.b === b)!;
  t.is(edge('spine-sw1', 'leaf1').state, 'down');
  t.is(edge('spine-sw1', 'leaf1').fault, 'link down');
  t.is(edge('spine-sw2', 'leaf2').state, 'degraded');
  t.is(edge('spine-sw2', 'leaf1').state, 'up');
  t.is(m.devices.find((d) => d.id === 'leaf2')!.state, 'down');
  t.regex(m.devices.find((d) => d.id === 'leaf2')!.note!, /bgpd stopped/);
  const dot = toDot(m);
  t.regex(dot, new RegExp(`"spine-sw1" -- "leaf1" \\[color="${COLORS.down}".*style=dashed`));
  t.regex(dot, new RegExp(`"spine-sw2" -- "leaf2" \\[color="${COLORS.degraded}"`));
  t.regex(dot, new RegExp(`"spine-sw2" -- "leaf1" \\[color="${COLORS.up}"`));
  const mer = toMermaid(m);
  t.regex(mer, new RegExp(`linkStyle 0 stroke:${COLORS.down}`));
});

test('SVG through Graphviz: well-formed, every device and link with its colour', async (t) => {
  const p = await vx();
  const obs = healthy(p);
  obs.ports.set('leaf2/swp3', 'down');
  const r = await execa('dot', ['-Tsvg'], { input: toDot(graphModel(p, obs)), reject: false });
  if (r.exitCode !== 0) return t.fail(`dot: ${r.stderr}`);
  t.true(wellFormed(r.stdout));
  const titles = [...r.stdout.matchAll(/<title>([^<]*)<\/title>/g)].map((x) => x[1].replace(/&#45;/g, '-'));
  for (const d of [...p.switches, ...p.nodes]) t.true(titles.includes(d.name), d.name);
  for (const l of p.links.filter((x) => x.kind !== 'pod')) t.true(titles.includes(`${l.a.device}--${l.b.device}`), `${l.a.device}--${l.b.device}`);
  // The edge group of leaf2 -- k8s-node-l2-1 is drawn red, the others green.
  const svg = r.stdout.replace(/&#45;/g, '-');
  const group = (id: string) => svg.slice(svg.indexOf(`<g id="${id}" class="edge">`)).split('</g>')[0];
  t.regex(group('leaf2/swp3--k8s-node-l2-1/eth0'), new RegExp(`stroke="${COLORS.down}"`));
  t.regex(group('leaf2/swp4--k8s-node-l2-2/eth0'), new RegExp(`stroke="${COLORS.up}"`));
  t.false(wellFormed('<svg><g></svg>'), 'the checker rejects broken XML');
});

test('a 4 x 8 fabric stays readable: uplink addresses in the leaf boxes, no piled-up edge labels', async (t) => {
  const lab = await loadLab('calico-bgp');
  lab.fabric!.spines = [1, 2, 3, 4].map((i) => ({ name: `spine${i}`, asn: 65000 + i }));
  lab.fabric!.leaves = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ ...lab.fabric!.leaves[0], name: i <= 2 ? `leaf${i}` : `leaf${i}`, asn: 65100 + i, rack: `10.0.${100 + i}.0/24` }));
  const p = plan(lab);
  t.is(p.switches.length, 12);
  const dot = toDot(graphModel(p));
  t.notRegex(dot, /taillabel/);
  t.regex(dot, /swp1 172.16.0.1\/31 - spine1/);
  t.regex(dot, /"spine1" -- "spine2" -- "spine3" -- "spine4" \[style=invis\]/);
});
