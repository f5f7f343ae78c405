// Observer commands the emulator's exec helper answers itself (emulator-configs/
// exec-server.py), without starting a program: vtysh's show commands, asked of the
// daemons' vty sockets; the TTL probes' ping, from a raw ICMP socket in the pod; `ip -j
// link show`, from one netlink dump (the fields the observers read: ifindex, ifname,
// flags, mtu). Same output and exit codes as the programs (compared with them in
// test/integration/emulator.test.ts). A vtysh start costs ~36 ms of CPU (it builds FRR's
// whole command tree), a ping or an ip ~2.5 ms; a dc-256 verify started 36 vtysh, 760
// pings and 804 ip link. Only the observers' batches are translated; `lab exec` always
// runs the real programs.
// FABRIC_LAB_EXEC_BUILTINS=0 turns it off (to compare, or to rule it out).
import path from 'node:path';
import { frrRunDir } from './names.js';

/** The daemon whose vty answers a show command vtysh would send it, or undefined (vtysh then runs). */
export function vtyDaemon(command: string): 'bgpd' | 'zebra' | undefined {
  if (/^show (ip )?bgp( |$)/.test(command)) return 'bgpd';
  if (/^show ip route( |$)/.test(command)) return 'zebra';
  return undefined;
}

const NUMBER = /^\d+(\.\d+)?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Pure: the builtin for an observer's argv on a device running FRR (`frr`), or the argv
 * itself. `vtysh -c C...` where every C goes to bgpd or zebra becomes
 * `@vty RUNDIR DAEMON C...`; `ping -c N -i I -W W -n IP` (pingArgv) becomes
 * `@ping N I W IP`; `ip -j link show` (LINKS_QUERY) becomes `@links`. Anything else, or
 * another shape of the same programs, is left as it is.
 */
export function builtinArgv(argv: string[], device: { ns: string; frr: boolean }, enabled = process.env.FABRIC_LAB_EXEC_BUILTINS !== '0'): string[] {
  if (!enabled) return argv;
  const [cmd, ...rest] = argv;
  const base = path.basename(cmd ?? '');
  if (base === 'vtysh' && device.frr && rest.length >= 2 && rest.length % 2 === 0) {
    const pairs: string[] = [];
    for (let i = 0; i < rest.length; i += 2) {
      const daemon = rest[i] === '-c' ? vtyDaemon(rest[i + 1]) : undefined;
      if (!daemon) return argv;
      pairs.push(daemon, rest[i + 1]);
    }
    return ['@vty', frrRunDir(device.ns), ...pairs];
  }
  if (base === 'ip' && rest.length === 3 && rest[0] === '-j' && rest[1] === 'link' && rest[2] === 'show') return ['@links'];
  if (base === 'ping' && rest.length === 8 && rest[0] === '-c' && rest[2] === '-i' && rest[4] === '-W' && rest[6] === '-n') {
    const [count, interval, wait, ip] = [rest[1], rest[3], rest[5], rest[7]];
    const quad = IPV4.exec(ip);
    if (/^[1-9]\d{0,2}$/.test(count) && NUMBER.test(interval) && NUMBER.test(wait) && quad && quad.slice(1).every((o) => Number(o) <= 255)) {
      return ['@ping', count, interval, wait, ip];
    }
  }
  return argv;
}
