import test from 'ava';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { inPrefix, lookup, tracePath, formatTrace, traceJson, type DeviceSnapshot, type Oracle } from '../../src/trace/model.js';
import { parseSnapshot } from '../../src/teach/observers.js';

test('prefix match and longest-prefix lookup', (t) => {
  t.true(inPrefix('10.0.101.5', '10.0.101.0/24'));
  t.false(inPrefix('10.0.102.5', '10.0.101.0/24'));
  t.true(inPrefix('1.2.3.4', 'default'));
  t.true(inPrefix('10.64.0.129', '10.64.0.129'));
  const routes = [{ dst: 'default', gateway: '10.0.1.1' }, { dst: '10.64.0.0/12', type: 'blackhole' }, { dst: '10.64.0.128/26', dev: 'vxlan.calico' }];
  t.is(lookup(routes, '10.64.0.130')!.dev, 'vxlan.calico');
  t.is(lookup(routes, '10.64.1.1')!.type, 'blackhole');
  t.is(lookup(routes, '8.8.8.8')!.dst, 'default');
});

test('snapshot parsing: addresses, link state, VXLAN device, neighbours, FDB, hash policy', (t) => {
  const sep = '\n--fabric-lab-trace--\n';
  const s = parseSnapshot([
    JSON.stringify([{ ifname: 'eth0', addr_info: [{ family: 'inet', local: '10.0.102.101', prefixlen: 24 }] }]),
    JSON.stringify([
      { ifname: 'eth0', flags: ['UP', 'LOWER_UP'], operstate: 'UP', address: 'aa' },
      { ifname: 'swp1', flags: ['NO-CARRIER', 'UP'], operstate: 'DOWN', address: 'bb', master: 'br0' },
      { ifname: 'vxlan.calico', flags: ['UP', 'LOWER_UP'], operstate: 'UNKNOWN', address: 'cc', linkinfo: { info_kind: 'vxlan', info_data: { id: 4096, port: 4789, local: '10.0.102.101', ttl: 0 } } },
    ]),
    JSON.stringify([{ dst: '10.64.0.128', dev: 'vxlan.calico', lladdr: 'dd', state: ['PERMANENT'] }]),
    JSON.stringify([{ mac: 'dd', ifname: 'vxlan.calico', dst: '10.0.101.102', flags: ['self'] }]),
    '[]', '1',
  ].join(sep));
  t.deepEqual(s.addrs, [{ iface: 'eth0', ip: '10.0.102.101', prefixLen: 24 }]);
  t.deepEqual(s.links.map((l) => l.up), [true, false, true]);
  t.deepEqual(s.links[2].vxlan, { vni: 4096, port: 4789, local: '10.0.102.101', ttl: 0 });
  t.is(s.links[1].master, 'br0');
  t.deepEqual(s.neigh, [{ ip: '10.64.0.128', iface: 'vxlan.calico', mac: 'dd', state: 'PERMANENT' }]);
  t.is(s.fdb[0].dst, '10.0.101.102');
  t.is(s.hashPolicy, 1);
});

test('a node with no route: stopped at that node, saying so; JSON has the DESIGN 8.1 fields', async (t) => {
  const p = plan(await loadLab('calico-bgp'));
  const pod = p.pods.find((x) => x.node === 'k8s-node-l2-1')!;
  const node = p.nodes.find((n) => n.name === 'k8s-node-l2-1')!;
  const snap = (addrs: DeviceSnapshot['addrs'], links: string[]): DeviceSnapshot => ({ addrs, links: links.map((iface) => ({ iface, up: true, mac: '' })), neigh: [], fdb: [], routes: [] });
  const snaps = new Map([
    [pod.name, { ...snap([{ iface: 'eth0', ip: pod.ip, prefixLen: 32 }], ['eth0']), routes: [{ dst: 'default', gateway: '169.254.1.1', dev: 'eth0' }] }],
    [node.name, snap([{ iface: 'eth0', ip: node.addr.ip, prefixLen: 24 }], ['eth0', pod.hostIface])],
  ]);
  const oracle: Oracle = {
    routeGet: async (device) => (device === pod.name ? { ok: true, gateway: '169.254.1.1', dev: 'eth0' } : { ok: false, error: 'Network is unreachable' }),
    frrRoute: async () => undefined,
  };
  const tr = await tracePath(p, snaps, oracle, pod.name, { src: pod.ip, dst: '10.99.0.1', proto: 'icmp' }, '10.99.0.1');
  t.false(tr.delivered);
  t.deepEqual(tr.hops.map((h) => [h.device, h.in, h.ttl]), [[pod.name, null, 64], [node.name, pod.hostIface, 63]]);
  t.regex(tr.stoppedBecause!, /no route to 10.99.0.1 on k8s-node-l2-1/);
  t.regex(formatTrace(tr, 'x'), /NOT delivered: no route/);
  const j = traceJson(tr) as { hops: Record<string, unknown>[] };
  t.deepEqual(Object.keys(j).slice(0, 5), ['from', 'to', 'delivered', 'hops', 'stoppedBecause']);
  t.deepEqual(Object.keys(j.hops[0]).slice(0, 8), ['device', 'in', 'out', 'route', 'nextHops', 'chosen', 'encap', 'ttl']);
});
