import test from 'ava';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { buildTopology } from '../../src/providers/emulator/topology.js';
import { namespacePrefix } from '../../src/providers/emulator/names.js';

const topology = async (name: string) => buildTopology(plan(await loadLab(name)));

test('IPIP dataplane (what Felix programs): tunl0 MTU and address, onlink routes to the other nodes, pod veths sized for IPIP', async (t) => {
  const topo = await topology('calico-ipip');
  const master = topo.configs.find((c) => c.device === 'k8s-master')!;
  t.deepEqual(master.dataplane.filter((l) => /tunl0|blackhole/.test(l)), [
    'link set tunl0 mtu 1480 up',
    'addr add 10.244.0.0/32 dev tunl0',
    'route add blackhole 10.244.0.0/26 proto 80',
    'route add 10.244.0.64/26 via 192.168.50.11 dev tunl0 onlink proto 80',
    'route add 10.244.0.128/26 via 192.168.50.12 dev tunl0 onlink proto 80',
  ]);
  const podVeths = topo.cables.filter((l) => l.includes(` netns ${namespacePrefix('calico-ipip')}nginx-`));
  t.is(podVeths.length, 2);
  t.true(podVeths.every((l) => l.includes('address ee:ee:ee:ee:ee:ee mtu 1480 type veth') && / eth0 netns \S+ address \S+ mtu 1480$/.test(l)), podVeths.join('\n'));
});

test('no tunl0 outside IPIP mode; VXLAN pod veths keep the VXLAN MTU', async (t) => {
  const topo = await topology('calico-vxlan');
  t.false(topo.configs.some((c) => c.dataplane.some((l) => l.includes('tunl0'))));
  const podVeths = topo.cables.filter((l) => l.includes(' address ee:ee:ee:ee:ee:ee'));
  t.true(podVeths.length > 0 && podVeths.every((l) => l.includes('mtu 1450')));
});

test('namespaces and cables are two host batches: every device one `netns add`, every cable (pods too) one veth line naming both namespaces', async (t) => {
  const p = plan(await loadLab('calico-bgp'));
  const topo = buildTopology(p);
  t.is(topo.netns.length, p.switches.length + p.nodes.length + p.pods.length);
  t.true(topo.netns.every((l) => /^netns add fl_calico-bgp_[a-z0-9-]+$/.test(l)));
  t.is(topo.cables.length, p.links.length);
  t.true(topo.cables.every((l) => /^link add name \S+ netns \S+ .*type veth peer name \S+ netns \S+/.test(l)), topo.cables.join('\n'));
});

test('bridge dataplane: every pod port on the node bridge in hairpin mode (a pod reaches itself through its Service), brought up after', async (t) => {
  const p = plan(await loadLab('bridge-static'));
  const topo = buildTopology(p);
  for (const node of p.nodes) {
    const lines = topo.configs.find((c) => c.device === node.name)!.dataplane;
    const pods = p.pods.filter((x) => x.node === node.name);
    t.true(pods.length > 0);
    for (const pod of pods) {
      const at = (l: string) => lines.indexOf(l);
      t.true(at(`link set ${pod.hostIface} master cni0`) >= 0, lines.join('\n'));
      t.true(at(`link set ${pod.hostIface} type bridge_slave hairpin on`) > at(`link set ${pod.hostIface} master cni0`));
      t.true(at(`link set ${pod.hostIface} up`) > at(`link set ${pod.hostIface} type bridge_slave hairpin on`));
    }
  }
});
