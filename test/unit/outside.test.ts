// The outside host (lab file `outside:`): its plan (address, border port, routes), what
// the emulator builds for it, its responder, and the pure verify checks of SNAT and of
// an outside client reaching a Service, with default and non-default values.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import { buildTopology } from '../../src/providers/emulator/topology.js';
import { namespaceOf } from '../../src/providers/emulator/names.js';
import { responderConfigs } from '../../src/providers/emulator/responder.js';
import { renderAll } from '../../src/render/index.js';
import { outsideServiceProbes, snatCaptureArgs, snatChecks, snatProbes, synSources, type SnatObservation } from '../../src/policy/outside.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { repoRoot as root } from '../../src/paths.js';

const shipped = async (lab: string, edit: (y: string) => string) => {
  const file = path.join(root, 'labs', `${lab}.yaml`);
  return planOf(parseLab(edit(await readFile(file, 'utf8')).replace(/^name: .*$/m, 'name: t'), '/x/t.yaml'));
};
const withOutside = (outside: string, extra: (y: string) => string = (y) => y) => (y: string) => `${extra(y)}\noutside: ${outside}\n`;

test('fabric: defaults put the outside host on the last leaf, first host for the leaf, second for the host', async (t) => {
  const p = await shipped('calico-vxlan', withOutside('{}'));
  t.deepEqual(p.outside, {
    name: 'outside', attachedTo: 'leaf2', subnet: '203.0.113.0/24',
    switchPort: { name: 'swp5', addr: { ip: '203.0.113.1', prefixLen: 24 } },
    iface: 'eth0', addr: { ip: '203.0.113.2', prefixLen: 24 }, gateway: '203.0.113.1', port: 80,
  });
  const leaf2 = p.switches.find((s) => s.name === 'leaf2')!;
  t.true(leaf2.bgp!.networks.includes('203.0.113.0/24'), 'the border leaf advertises it');
  t.false(leaf2.ports.some((x) => x.peer === 'outside'), 'not a port of the libvirt model');
  t.false(p.switches.find((s) => s.name === 'leaf1')!.bgp!.networks.includes('203.0.113.0/24'));
  t.deepEqual(p.intent.routes.filter((r) => r.prefix === '203.0.113.0/24').map((r) => `${r.device} ${r.present} ${r.via?.map((v) => v.device).join('+') ?? 'connected'}`),
    ['spine-sw1 true leaf2', 'spine-sw2 true leaf2', 'leaf1 true spine-sw1+spine-sw2', 'leaf2 true connected']);
  const frr = renderAll(p).find((a) => a.path === 'fabric-configs/leaf2/frr.conf')!;
  t.regex(String(frr.content), /^ {2}network 203\.0\.113\.0\/24$/m);
});

test('fabric: non-default name, subnet, port and leaf', async (t) => {
  const p = await shipped('calico-bgp', withOutside('{ name: inet, subnet: 198.51.100.4/30, via: leaf1, port: 8080 }'));
  t.like(p.outside, { name: 'inet', attachedTo: 'leaf1', subnet: '198.51.100.4/30', gateway: '198.51.100.5', addr: { ip: '198.51.100.6', prefixLen: 30 }, port: 8080 });
  // leaf1: 2 spine ports, 3 node ports, then the outside host
  t.is(p.outside!.switchPort.name, 'swp6');
  t.true(p.switches.find((s) => s.name === 'leaf1')!.bgp!.networks.includes('198.51.100.4/30'));
});

test('lan: the LAN switch routes it (no BGP), no route intents', async (t) => {
  const p = await shipped('bridge-static', withOutside('{ port: 8000 }'));
  t.like(p.outside, { attachedTo: 'lan', gateway: '203.0.113.1', port: 8000 });
  t.is(p.outside!.switchPort.name, 'swp3');
  t.false(p.intent.routes.some((r) => r.prefix === '203.0.113.0/24'));
});

test('no outside: key, no outside host anywhere', async (t) => {
  const p = await shipped('calico-vxlan', (y) => y);
  t.is(p.outside, undefined);
  t.false(buildTopology(p).configs.some((c) => c.kind === 'outside'));
  t.false(responderConfigs(p, '/d').some((r) => r.device === 'outside'));
});

test('emulator: its own namespace, a routed border port, one veth, its responder', async (t) => {
  const p = await shipped('calico-vxlan', withOutside('{ name: inet, port: 8080 }'));
  const topo = buildTopology(p);
  const ns = namespaceOf('t', 'inet');
  t.true(topo.namespaces.includes(ns));
  const c = topo.configs.find((x) => x.device === 'inet')!;
  t.is(c.kind, 'outside');
  t.deepEqual(c.links, ['link set lo up', 'link set eth0 up', 'addr add 203.0.113.2/24 dev eth0', 'route add default via 203.0.113.1 dev eth0']);
  t.deepEqual(topo.configs.find((x) => x.device === 'leaf2')!.links.slice(-2), ['link set swp5 up', 'addr add 203.0.113.1/24 dev swp5']);
  t.deepEqual(topo.cables.filter((l) => l.includes(` netns ${ns}`)), [`link add name swp5 netns ${namespaceOf('t', 'leaf2')} type veth peer name eth0 netns ${ns}`]);
  t.true(topo.netns.includes(`netns add ${ns}`));
  const r = responderConfigs(p, '/d').find((x) => x.device === 'inet')!;
  t.deepEqual(r.config.listeners, [{ name: 'inet', netns: `/var/run/netns/${ns}`, ports: [8080] }]);
});

test('synSources reads the source of each captured SYN; the capture sees only arriving SYNs to the port', (t) => {
  t.deepEqual(synSources([
    '15:04:05.123456 IP 10.0.101.101.40312 > 203.0.113.2.80: Flags [S], seq 1, win 64240, length 0',
    'tcpdump: listening on eth0',
    '15:04:06.000001 IP 10.64.0.65.51000 > 203.0.113.2.80: Flags [S], seq 2, win 64240, length 0',
  ]), ['10.0.101.101', '10.64.0.65']);
  const p = { port: 8080 } as NonNullable<Plan['outside']>;
  t.deepEqual(snatCaptureArgs(p).slice(-3), ['-Q', 'in', 'tcp dst port 8080 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn']);
});

const seen = (entries: [string, string[], { ok: true; answer: string } | { ok: false; error: string }][]): SnatObservation =>
  ({ ok: true, seen: new Map(entries.map(([pod, sources, result]) => [pod, { sources, result }])) });

test('snat: natOutgoing true wants the node address and an answer', async (t) => {
  const p = await shipped('calico-vxlan', withOutside('{}'));
  const probes = snatProbes(p, []);
  t.is(probes.length, 4, 'one pod per node with pods');
  t.true(probes.every((x) => x.masquerade));
  const [a, b, c, d] = probes;
  const checks = snatChecks(p, probes, seen([
    [a.pod, [a.nodeIp], { ok: true, answer: `outside ${a.nodeIp}` }],
    [b.pod, [b.podIp], { ok: false, error: 'timeout' }],
    [c.pod, [c.nodeIp], { ok: false, error: 'timeout' }],
    [d.pod, [], { ok: false, error: 'timeout' }],
  ]));
  t.deepEqual(checks.map((x) => x.ok), [true, false, false, false]);
  t.regex(checks[0].expected, new RegExp(`source ${a.nodeIp.replace(/\./g, '\\.')} \\(node ${a.node}`));
  t.regex(checks[1].observed, /\(the pod\)/);
  t.regex(checks[2].observed, /arrived but no answer came back/);
  t.regex(checks[3].observed, /nothing from .* reached outside/);
  t.true(checks.slice(1).every((x) => x.hint?.includes('iptables -t nat -S POSTROUTING')));
});

test('snat: natOutgoing false wants the pod address; without a way back (VXLAN) no answer is right, in BGP mode it is not', async (t) => {
  const off = (y: string) => y.replace('natOutgoing: true', 'natOutgoing: false');
  const vx = await shipped('calico-vxlan', withOutside('{}', off));
  const [a] = snatProbes(vx, []);
  t.false(a.masquerade);
  const [ok] = snatChecks(vx, [a], seen([[a.pod, [a.podIp], { ok: false, error: 'timeout' }]]));
  t.true(ok.ok);
  t.regex(ok.observed, /as expected: nothing routes/);
  const [natted] = snatChecks(vx, [a], seen([[a.pod, [a.nodeIp], { ok: true, answer: 'x' }]]));
  t.false(natted.ok, 'masqueraded although natOutgoing is false');

  const bgp = await shipped('calico-bgp', withOutside('{}', (y) => y.replace('natOutgoing: true', 'natOutgoing: false')));
  const [b] = snatProbes(bgp, []);
  t.false(b.masquerade);
  t.false(snatChecks(bgp, [b], seen([[b.pod, [b.podIp], { ok: false, error: 'timeout' }]]))[0].ok, 'BGP: the fabric routes pods, the answer must come back');
  t.true(snatChecks(bgp, [b], seen([[b.pod, [b.podIp], { ok: true, answer: `outside ${b.podIp}` }]]))[0].ok);
});

test('bridge CNI: masquerade false is the same expectation', async (t) => {
  const p = await shipped('bridge-static', withOutside('{}', (y) => y.replace('masquerade: true', 'masquerade: false')));
  t.deepEqual(snatProbes(p, []).map((x) => x.masquerade), [false, false]);
});

test('snat: what could not be looked at is unknown, never fail', async (t) => {
  const p = await shipped('calico-vxlan', withOutside('{}'));
  const probes = snatProbes(p, []).slice(0, 1);
  t.is(snatChecks(p, probes, { ok: false, error: 'tcpdump on outside: no such device' })[0].status, 'unknown');
  t.is(snatChecks(p, probes, undefined)[0].status, 'unknown');
  t.is(snatChecks(p, probes, seen([[probes[0].pod, [], { ok: false, error: 'could not probe: no such namespace' }]]))[0].status, 'unknown');
});

const policy = (yaml: string) => parsePolicies(yaml, '/x/p.yaml');

test('snat probes skip pods whose egress to the outside host the policies deny', async (t) => {
  const p = await shipped('calico-vxlan', withOutside('{}'));
  const deny = policy('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: no-egress, namespace: space1 }\nspec: { podSelector: {}, policyTypes: [Egress] }\n');
  t.deepEqual(snatProbes(p, deny), []);
  const allowOut = policy('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: out, namespace: space1 }\nspec: { podSelector: {}, policyTypes: [Egress], egress: [{ to: [{ ipBlock: { cidr: 203.0.113.0/24 } }], ports: [{ port: 80 }] }] }\n');
  t.is(snatProbes(p, [...deny, ...allowOut]).length, 4);
});

test('outside client: BGP mode only, and only Services whose endpoints admit it', async (t) => {
  t.deepEqual(outsideServiceProbes(await shipped('calico-vxlan', withOutside('{}')), []), []);
  const p = await shipped('calico-bgp', withOutside('{ name: inet }'));
  t.deepEqual(outsideServiceProbes(p, []), [{ service: 'space1/nginx', target: '10.80.0.100:80', via: 'cluster IP', client: 'inet' }]);
  const fromPods = policy('apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: pods-only, namespace: space1 }\nspec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] }\n');
  t.deepEqual(outsideServiceProbes(p, fromPods), []);
  t.deepEqual(outsideServiceProbes(await shipped('calico-bgp', (y) => y), []), [], 'no outside host');
});
