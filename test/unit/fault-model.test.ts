import test from 'ava';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { LabError } from '../../src/errors.js';
import { downEnds, faultHint, faultKey, impairmentCommands, isCidr, listJson, parseFault, type FaultRecord } from '../../src/fault/model.js';
import { vxlanSnapshot, SECTION } from '../../src/fault/vxlan.js';

const vx = async () => plan(await loadLab('calico-vxlan'));
const bgp = async () => plan(await loadLab('calico-bgp'));

const bad = (t: import('ava').ExecutionContext, fn: () => unknown, ...parts: RegExp[]) => {
  const e = t.throws(fn, { instanceOf: LabError });
  t.is(e!.exitCode, 2);
  for (const p of parts) t.regex(e!.message, p);
};

test('link: either end first gives the same cable and the same key', async (t) => {
  const p = await vx();
  const a = parseFault(p, 'link', ['leaf1', 'spine-sw1', 'down'], {});
  const b = parseFault(p, 'link', ['spine-sw1', 'leaf1', 'up'], {});
  t.is(a.what, 'link');
  t.deepEqual(a.what === 'link' && [a.link.a, a.link.b], b.what === 'link' && [b.link.a, b.link.b]);
  t.is(faultKey(a), faultKey(b));
  t.is(a.what === 'link' && a.state, 'down');
});

test('link: unknown device, no link, bad state are exit 2 with what is allowed', async (t) => {
  const p = await vx();
  bad(t, () => parseFault(p, 'link', ['leaf1', 'spine-sw9', 'down'], {}), /no device "spine-sw9"/, /devices: spine-sw1, spine-sw2/);
  bad(t, () => parseFault(p, 'link', ['leaf1', 'k8s-node-l2-1', 'down'], {}), /no link between leaf1 and k8s-node-l2-1/, /leaf1 is cabled to spine-sw1, spine-sw2, k8s-master-l1-1/);
  bad(t, () => parseFault(p, 'link', ['leaf1', 'spine-sw1', 'sideways'], {}), /down or up, got "sideways"/);
  bad(t, () => parseFault(p, 'link', ['leaf1', 'spine-sw1'], {}), /say what to do with the link/);
  bad(t, () => parseFault(p, 'link', ['leaf1', 'spine-sw1', 'down'], { delay: '10ms' }), /either down or impairments/);
});

test('netem: malformed values are all reported at once', async (t) => {
  const p = await vx();
  bad(t, () => parseFault(p, 'link', ['leaf1', 'spine-sw1'], { delay: '20 ms', loss: '120%', rate: 'fast', corrupt: 'x' }),
    /--delay "20 ms" is not a duration/, /--loss "120%" is not a percentage/, /--rate "fast" is not a rate/, /--corrupt "x"/);
  bad(t, () => parseFault(p, 'link', ['leaf1', 'spine-sw1'], { jitter: '5ms' }), /--jitter needs --delay/);
  bad(t, () => parseFault(p, 'link', ['leaf1', 'spine-sw1'], { delay: '5ms', from: 'leaf2' }), /--from leaf2 is not an end/);
});

test('netem: both directions unless --from; loss normalised to a percentage', async (t) => {
  const p = await vx();
  const both = parseFault(p, 'link', ['leaf2', 'spine-sw2'], { delay: '20ms', jitter: '5ms', loss: '5' });
  t.true(both.what === 'netem' && both.ends.length === 2 && both.impairment.loss === '5%');
  const one = parseFault(p, 'link', ['leaf2', 'spine-sw2'], { rate: '10mbit', from: 'spine-sw2' });
  t.true(one.what === 'netem' && one.ends.length === 1 && one.link[one.ends[0]].device === 'spine-sw2');
});

test('impairments: netem command, and tbf/nftables without netem; delay without netem is a host lack', (t) => {
  const n = impairmentCommands('swp1', { delay: '20ms', jitter: '5ms', loss: '5%', rate: '10mbit', corrupt: '1%' }, true);
  t.deepEqual('apply' in n && n.apply[0], ['tc', 'qdisc', 'replace', 'dev', 'swp1', 'root', 'netem', 'delay', '20ms', '5ms', 'loss', '5%', 'rate', '10mbit', 'corrupt', '1%']);
  const f = impairmentCommands('swp1', { loss: '100%', rate: '1mbit' }, false);
  t.true('apply' in f);
  if ('apply' in f) {
    t.is(f.apply[0][6], 'tbf');
    t.regex(f.apply[1][2], /hook egress device "swp1".* drop;/);
    t.notRegex(f.apply[1][2], /numgen/); // 100% is every packet
    t.deepEqual(f.undo[1], ['/usr/sbin/nft', 'delete', 'table', 'netdev', 'fabric_lab_fault_swp1']);
  }
  const half = impairmentCommands('swp1', { loss: '0.5%' }, false);
  t.regex('apply' in half ? half.apply[0][2] : '', /numgen random mod 1000 < 5 drop/);
  const lacks = impairmentCommands('swp1', { delay: '20ms' }, false);
  t.regex('lacks' in lacks ? lacks.lacks : '', /no netem.*--delay/);
});

test('daemon: only the daemons the device runs in this mode', async (t) => {
  const v = await vx();
  t.like(parseFault(v, 'daemon', ['leaf1', 'bgpd', 'stop'], {}), { what: 'daemon', device: 'leaf1', daemon: 'bgpd', action: 'stop' });
  bad(t, () => parseFault(v, 'daemon', ['k8s-node-l1-1', 'bird', 'stop'], {}), /runs no routing daemon in this lab, not bird/);
  bad(t, () => parseFault(v, 'daemon', ['leaf1', 'ospfd', 'restart'], {}), /bgpd, zebra or bird, got "ospfd"/, /stop or start, got "restart"/);
  const b = await bgp();
  t.like(parseFault(b, 'daemon', ['k8s-node-l1-1', 'bird', 'start'], {}), { daemon: 'bird', action: 'start' });
});

test('peer-asn: a configured neighbour, a wrong AS (default 64999, never the real one)', async (t) => {
  const p = await vx();
  t.like(parseFault(p, 'peer-asn', ['leaf1', 'spine-sw1'], {}), { what: 'peer-asn', peerIp: '172.16.0.0', localAsn: 65101, correctAsn: 65001, wrongAsn: 64999 });
  t.like(parseFault(p, 'peer-asn', ['leaf1', 'spine-sw1'], { asn: '65333' }), { wrongAsn: 65333 });
  bad(t, () => parseFault(p, 'peer-asn', ['leaf1', 'spine-sw1'], { asn: '65001' }), /real AS/);
  bad(t, () => parseFault(p, 'peer-asn', ['leaf1', 'leaf2'], {}), /no configured BGP neighbour leaf2; its neighbours: spine-sw1, spine-sw2/);
  bad(t, () => parseFault(p, 'peer-asn', ['k8s-node-l1-1', 'leaf1'], {}), /not a switch running FRR/);
});

test('mtu, blackhole, vni: values checked, defaults', async (t) => {
  const p = await vx();
  const m = parseFault(p, 'mtu', ['k8s-node-l2-2', 'leaf2'], {});
  t.true(m.what === 'mtu' && m.mtu === 1400 && m.link[m.end].device === 'k8s-node-l2-2');
  bad(t, () => parseFault(p, 'mtu', ['leaf2', 'k8s-node-l2-2'], { mtu: '20' }), /not an MTU/);
  t.like(parseFault(p, 'blackhole', ['leaf2', '10.0.101.0/24'], {}), { device: 'leaf2', prefix: '10.0.101.0/24' });
  bad(t, () => parseFault(p, 'blackhole', ['leaf2', '10.0.101.1/24'], {}), /not an IPv4 prefix/);
  t.like(parseFault(p, 'vni', ['k8s-node-l2-1'], {}), { node: 'k8s-node-l2-1', was: 4096, vni: 4097 });
  bad(t, () => parseFault(p, 'vni', ['k8s-node-l2-1'], { vni: '4096' }), /the lab's VNI/);
  const b = await bgp();
  bad(t, () => parseFault(b, 'vni', ['k8s-node-l2-1'], {}), /no VXLAN device/);
  bad(t, () => parseFault(p, 'explode', [], {}), /unknown fault "explode"/, /usage:/);
  bad(t, () => parseFault(p, 'list', ['x'], { mtu: '9000' }), /unexpected argument: x/, /--mtu does not apply/);
});

test('isCidr and which ends go down', async (t) => {
  t.true(isCidr('10.0.0.0/8'));
  t.false(isCidr('10.0.0.1/8'));
  t.false(isCidr('300.0.0.0/8'));
  const p = await vx();
  const fabric = p.links.find((l) => l.kind === 'fabric')!;
  t.deepEqual(downEnds(p, fabric), ['a', 'b']);
  const pod = p.links.find((l) => l.kind === 'pod')!;
  const e = downEnds(p, pod);
  t.true(p.nodes.some((n) => n.name === pod[e[0]].device), 'the node side of a pod link');
});

test('fault hint names the related fault, else all; list JSON has exactly kind/target/detail', (t) => {
  const f = (target: string, devices: string[]): FaultRecord => ({ kind: 'link', target, detail: 'down (x set down)', key: target, devices, undo: [], at: '' });
  const faults = [f('leaf1 swp1 <-> spine-sw1 swp1', ['leaf1', 'spine-sw1']), f('leaf2 swp3 <-> n eth0', ['leaf2', 'n'])];
  const h = faultHint('lab1', 'leaf1 -> spine-sw1 (172.16.0.0)', faults)!;
  t.regex(h, /link leaf1 swp1 <-> spine-sw1 swp1 \(down\)/);
  t.notRegex(h, /leaf2/);
  t.regex(faultHint('lab1', 'pod-a -> pod-b', faults)!, /faults in force: .*leaf1.*leaf2/);
  t.is(faultHint('lab1', 'x', []), undefined);
  t.deepEqual(Object.keys(listJson(faults)[0]), ['kind', 'target', 'detail']);
});

test('vxlan rebuild script restores everything Felix put on the device', (t) => {
  const out = [
    JSON.stringify([{ mtu: 1450, address: '66:3f:49:b8:0d:ab', linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, local: '10.0.102.101', link: 'eth0', port: 4789, learning: false } } }]),
    JSON.stringify([{ addr_info: [{ family: 'inet', local: '10.64.0.192', prefixlen: 32 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }] }]),
    JSON.stringify([{ dst: '10.64.0.0/26', gateway: '10.64.0.0', dev: 'vxlan.calico', protocol: '80', flags: ['onlink'] }]),
    JSON.stringify([{ dst: '10.64.0.0', lladdr: '66:0a:5b:e0:5f:15', state: ['PERMANENT'] }]),
    JSON.stringify([{ mac: '66:0a:5b:e0:5f:15', dst: '10.0.101.100', flags: ['self'], state: 'permanent' }, { mac: '33:33:00:00:00:01', flags: ['self'] }]),
  ].join(`\n${SECTION}\n`);
  const s = vxlanSnapshot(out);
  t.is(s.vni, 4096);
  const script = s.script(4097);
  t.regex(script, /ip link add vxlan.calico type vxlan id 4097 local 10.0.102.101 dev eth0 dstport 4789 nolearning/);
  t.regex(script, /address 66:3f:49:b8:0d:ab mtu 1450/);
  t.regex(script, /ip addr add 10.64.0.192\/32/);
  t.notRegex(script, /fe80/);
  t.regex(script, /ip route replace 10.64.0.0\/26 via 10.64.0.0 dev vxlan.calico onlink proto 80/);
  t.regex(script, /ip neigh replace 10.64.0.0 lladdr 66:0a:5b:e0:5f:15 dev vxlan.calico nud permanent/);
  t.regex(script, /bridge fdb append 66:0a:5b:e0:5f:15 dev vxlan.calico dst 10.0.101.100 self permanent/);
  t.is(script.match(/bridge fdb/g)!.length, 1);
  t.throws(() => vxlanSnapshot(`[]\n${SECTION}\n[]`), { message: /no VXLAN device/ });
});
