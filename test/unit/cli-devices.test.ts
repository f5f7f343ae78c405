import test from 'ava';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { resolveDevice, splitCommandString, wrongDaemon } from '../../src/cli/devices.js';
import { closest, didYouMean } from '../../src/cli/suggest.js';
import { LabError } from '../../src/errors.js';

const load = async (name: string) => plan(await loadLab(name));
const message = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof LabError && e.exitCode === 2) return e.message;
    throw e;
  }
  throw new Error('did not throw');
};

test('did you mean: case, dashes, transpositions and ties', (t) => {
  const names = ['spine-sw1', 'spine-sw2', 'leaf1', 'leaf2', 'k8s-node-l1-1'];
  t.deepEqual(closest('Leaf1', names), ['leaf1']);
  t.deepEqual(closest('leaf-1', names), ['leaf1']);
  t.deepEqual(closest('lefa1', names), ['leaf1']);
  t.deepEqual(closest('leaf3', names), ['leaf1', 'leaf2']);
  t.deepEqual(closest('router', names), []);
  t.is(didYouMean('calico-vxlen', ['calico-bgp', 'calico-vxlan']), ' did you mean calico-vxlan?');
  t.is(didYouMean('leaf3', names), ' did you mean leaf1 or leaf2?');
});

test('device typos: did you mean first, then switches, nodes and pods apart', async (t) => {
  const p = await load('calico-vxlan');
  for (const typo of ['leaf-1', 'Leaf1', 'laef1']) {
    const m = message(() => resolveDevice(p, typo));
    t.regex(m.split('\n')[0], /no device ".+" in lab calico-vxlan; did you mean leaf1\?$/);
    t.regex(m, /\n {2}switches: spine-sw1, spine-sw2, leaf1, leaf2\n {2}nodes: +k8s-master-l1-1, /);
    t.regex(m, /\n {2}pods: +nginx-\S+, /);
  }
  t.regex(message(() => resolveDevice(p, 'leaf3')), /did you mean leaf1 or leaf2\?/);
  t.is(resolveDevice(p, 'leaf1'), 'leaf1');
  t.is(resolveDevice(p, p.pods[0].name.slice(0, -2)), p.pods[0].name);
  t.regex(message(() => resolveDevice(p, 'nginx')), /ambiguous/);
});

test('many pods: their count and `lab pods`, not a dump of hashed names', async (t) => {
  const p = await load('calico-vxlan');
  const many = { ...p, pods: Array.from({ length: 20 }, (_, i) => ({ ...p.pods[0], name: `web-5d8f7c9b6${i % 10}-x${i}` })) };
  const m = message(() => resolveDevice(many, 'zzz'));
  t.regex(m, /pods: +20 \(a unique prefix is enough\): lab pods calico-vxlan/);
  t.notRegex(m, /web-/);
});

test('wrong daemon: what runs there and which command to use', async (t) => {
  const vx = await load('calico-vxlan');
  const bgp = await load('calico-bgp');
  const lan = await load('bridge-static');
  t.is(wrongDaemon(vx, 'leaf1', ['vtysh', '-c', 'show bgp summary']), undefined);
  t.is(wrongDaemon(bgp, 'k8s-node-l1-1', ['birdc', 'show', 'protocols']), undefined);
  t.is(wrongDaemon(vx, 'k8s-node-l1-1', ['ip', 'route']), undefined);
  t.regex(wrongDaemon(vx, 'k8s-node-l1-1', ['vtysh'])!, /runs no routing daemon: Calico VXLAN mode runs no BGP on nodes.*ip route.*-- vtysh/);
  t.regex(wrongDaemon(vx, 'k8s-node-l1-1', ['/usr/bin/birdc', 'show', 'protocols'])!, /runs no routing daemon/);
  t.regex(wrongDaemon(bgp, 'k8s-node-l1-1', ['vtysh'])!, /BIRD .*not FRR. Use birdc: lab exec calico-bgp k8s-node-l1-1 -- birdc show protocols/);
  t.regex(wrongDaemon(vx, 'spine-sw1', ['birdc', 'show', 'protocols'])!, /spine switch: it runs FRR .*lab exec calico-vxlan spine-sw1 -- vtysh -c 'show bgp summary'/);
  const lanSwitch = lan.switches[0].name;
  t.regex(wrongDaemon(lan, lanSwitch, ['vtysh'])!, /LAN switch .* runs no routing daemon/);
  t.regex(wrongDaemon(vx, vx.pods[0].name, ['vtysh'])!, /is a pod: it runs no routing daemon/);
});

test('a whole command in one quoted string is split like a shell would', (t) => {
  t.deepEqual(splitCommandString(["vtysh -c 'show bgp summary'"]), ['vtysh', '-c', 'show bgp summary']);
  t.deepEqual(splitCommandString(['ip  route get "10.0.0.1"']), ['ip', 'route', 'get', '10.0.0.1']);
  t.deepEqual(splitCommandString(['echo a\\ b ""']), ['echo', 'a b', '']);
  t.is(splitCommandString(['hostname']), undefined);
  t.is(splitCommandString(['ls', 'my file']), undefined);
  t.is(splitCommandString(["vtysh -c 'show"]), undefined);
});

test('lab show counts each BGP session once (both ends are verify checks), routes present and absent', async (t) => {
  const { formatPlan } = await import('../../src/cli/show.js');
  const { sessionPairs, routeCounts } = await import('../../src/plan/intent.js');
  const vx = await load('calico-vxlan');
  t.is(sessionPairs(vx.intent.sessions).length, 4); // 2 spines x 2 leaves, one session per cable
  t.is(vx.intent.sessions.length, 8);
  t.regex(formatPlan(vx), /EXPECTED BGP SESSIONS \(4; verify checks both ends: 8\)/);
  const rc = routeCounts(vx.intent.routes);
  t.regex(formatPlan(vx), new RegExp(`EXPECTED ROUTES \\(${rc.checks}: ${rc.present} present, ${rc.absent} absent\\)`));
  const bgp = await load('calico-bgp');
  t.is(sessionPairs(bgp.intent.sessions).length, 4 + bgp.nodes.length);
});
