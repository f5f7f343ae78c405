// Which observer commands the emulator's exec helper answers itself (builtins.ts): the
// translation is pure; test/integration/emulator.test.ts compares the answers with the
// real programs'.
import test from 'ava';
import { builtinArgv, vtyDaemon } from '../../src/providers/emulator/builtins.js';
import { FRR_QUERY, FRR_SESSIONS_QUERY, RIB_QUERY, bgpPrefixQuery, BIRD_QUERY, KERNEL_ROUTES_QUERY, LINKS_QUERY } from '../../src/observe/device.js';
import { pingArgv, fpingArgv } from '../../src/observe/reach.js';

const sw = { ns: 'fl_lab_leaf1', frr: true };
const node = { ns: 'fl_lab_node1', frr: false };

test('the observers\' vtysh queries go to the daemon that answers them, in order', (t) => {
  t.deepEqual(builtinArgv(FRR_SESSIONS_QUERY, sw, true), ['@vty', '/var/run/frr/fl_lab_leaf1', 'bgpd', 'show bgp summary json']);
  t.deepEqual(builtinArgv(RIB_QUERY, sw, true), ['@vty', '/var/run/frr/fl_lab_leaf1', 'zebra', 'show ip route json']);
  t.deepEqual(builtinArgv(FRR_QUERY, sw, true), ['@vty', '/var/run/frr/fl_lab_leaf1', 'zebra', 'show ip route json', 'bgpd', 'show bgp summary json']);
  t.deepEqual(builtinArgv(bgpPrefixQuery(['10.64.0.0/26', '10.64.0.64/26']), sw, true),
    ['@vty', '/var/run/frr/fl_lab_leaf1', 'bgpd', 'show bgp ipv4 unicast 10.64.0.0/26 json', 'bgpd', 'show bgp ipv4 unicast 10.64.0.64/26 json']);
  t.deepEqual(builtinArgv(['/usr/bin/vtysh', '-c', 'show ip bgp json'], sw, true), ['@vty', '/var/run/frr/fl_lab_leaf1', 'bgpd', 'show ip bgp json']);
});

test('vtysh is left to run where a builtin would not say the same', (t) => {
  for (const argv of [
    ['vtysh'], // interactive
    ['vtysh', '-c', 'configure terminal', '-c', 'router bgp 65101'], // configuration: vtysh's own work
    ['vtysh', '-c', 'show running-config'], // vtysh gathers it from every daemon
    ['vtysh', '-c', 'show bgp summary json', '-c', 'show interface'], // one command it cannot place
    ['vtysh', '-N', 'other', '-c', 'show bgp summary json'], // another pathspace named
    ['vtysh', '-c'], ['vtysh', '-d', 'bgpd', '-c', 'show bgp summary json'],
    ['vtysh', '-c', 'show bgpfoo'],
  ]) t.deepEqual(builtinArgv(argv, sw, true), argv, argv.join(' '));
  t.deepEqual(builtinArgv(FRR_SESSIONS_QUERY, node, true), FRR_SESSIONS_QUERY, 'no FRR on the device: vtysh says so itself');
  t.deepEqual(builtinArgv(FRR_SESSIONS_QUERY, sw, false), FRR_SESSIONS_QUERY, 'FABRIC_LAB_EXEC_BUILTINS=0');
  t.is(vtyDaemon('show ip route vrf all json'), 'zebra');
  t.is(vtyDaemon('show ip routes'), undefined);
});

test('the observers\' interface listing becomes the helper\'s netlink dump', (t) => {
  t.deepEqual(builtinArgv(LINKS_QUERY, node, true), ['@links']);
  t.deepEqual(builtinArgv(LINKS_QUERY, sw, true), ['@links']);
  t.deepEqual(builtinArgv(LINKS_QUERY, node, false), LINKS_QUERY);
});

test('the TTL probe ping becomes the helper\'s ICMP probe; any other ping or program runs', (t) => {
  t.deepEqual(builtinArgv(pingArgv('10.64.0.130'), node, true), ['@ping', '2', '0.01', '1', '10.64.0.130']);
  t.deepEqual(builtinArgv(pingArgv('10.64.0.130'), sw, true), ['@ping', '2', '0.01', '1', '10.64.0.130']);
  for (const argv of [
    ['ping', '-c', '2', '-i', '0.01', '-W', '1', '-n', 'leaf1'], // a name to resolve
    ['ping', '-c', '2', '-i', '0.01', '-W', '1', '-n', '10.64.0.300'],
    ['ping', '-c', '0', '-i', '0.01', '-W', '1', '-n', '10.64.0.1'],
    ['ping', '-c', '2', '-i', '-1', '-W', '1', '-n', '10.64.0.1'],
    ['ping', '-c', '2', '-W', '1', '-i', '0.01', '-n', '10.64.0.1'], // another order: not the probe
    ['ping', '-c', '2', '10.64.0.1'], ['ping', '-6', '-c', '2', '-i', '0.01', '-W', '1', '-n'],
    fpingArgv(['10.64.0.1']), BIRD_QUERY, KERNEL_ROUTES_QUERY,
    ['ip', '-j', 'link', 'show', 'dev', 'eth0'], ['ip', '-j', '-d', 'link', 'show'], ['ip', 'link', 'show'],
  ]) t.deepEqual(builtinArgv(argv, node, true), argv, argv.join(' '));
  t.deepEqual(builtinArgv(pingArgv('10.64.0.130'), node, false), pingArgv('10.64.0.130'));
});
