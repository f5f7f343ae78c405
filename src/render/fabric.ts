// plan -> fabric-configs/<switch>/{frr.conf,daemons,interfaces} (DESIGN 4). The text
// lives in the templates of fabric-configs/; this module only builds their view-models.
// The LAN switch runs no routing protocol, so it gets an interfaces file only.
import type { Plan, Switch, SwitchBgp, IfAddr } from '../plan/types.js';
import type { BgpTimers } from '../lab/types.js';
import type { Artifact } from './types.js';
import { renderTemplate } from './engine.js';
import { parseCidr, size } from '../plan/ip.js';

/** Peer group of the spine-leaf sessions (the rack's dynamic peers have their own). */
export const FABRIC_PEER_GROUP = 'FABRIC';
export const MAXIMUM_PATHS = 64;

/**
 * Lab timers, chosen so the seed fabric converges in about a second (measured, see
 * fabric-configs/README.md). keepalive/hold come from the plan (plan/timers.ts: the
 * datacenter defaults 3/9 for small labs, longer for big ones).
 */
export const FAST_TIMERS = {
  /** Seconds before retrying a refused connection (datacenter default: 10). */
  connectRetry: 1,
  /** Seconds between UPDATEs to a peer (MRAI): none, so changes propagate at once. */
  advertisementInterval: 0,
  /** Milliseconds a new update group waits for more peers before its first UPDATE (default ~1100). */
  coalesceMs: 100,
} as const;

/** FRR accepts at most this many dynamic neighbours (`bgp listen limit`). */
const FRR_LISTEN_LIMIT_MAX = 65535;

export function renderFabric(plan: Plan): Artifact[] {
  return plan.switches.flatMap((sw) => renderSwitch(plan.name, sw, plan.bgpTimers.fabric));
}

/** Prefix list a leaf applies towards its nodes when it sends them only a default route. */
export const DEFAULT_ONLY_LIST = 'DEFAULT-ONLY';

function renderSwitch(lab: string, sw: Switch, timers: BgpTimers): Artifact[] {
  const dir = `fabric-configs/${sw.name}`;
  const common = { lab, hostname: sw.name, kind: sw.kind, flavour: flavour(sw) };
  const files: Artifact[] = [{ path: `${dir}/interfaces`, content: renderTemplate('fabric-configs/interfaces.hbs', { ...common, ...interfacesView(sw) }) }];
  const frr = renderFrr(lab, sw, timers, { flavour: flavour(sw), setProfile: sw.os !== 'cumulus' });
  if (frr) files.push({ path: `${dir}/frr.conf`, content: frr.frrConf }, { path: `${dir}/daemons`, content: frr.daemons });
  return files;
}

/**
 * frr.conf and daemons of one switch (none for the LAN switch): the same templates for
 * every target; `lab export` passes a switch whose ports carry containerlab's names.
 */
export function renderFrr(lab: string, sw: Switch, timers: BgpTimers, o: { flavour: string; setProfile: boolean }): { frrConf: string; daemons: string } | undefined {
  if (!sw.bgp) return undefined;
  const common = { lab, hostname: sw.name, kind: sw.kind, flavour: o.flavour };
  return {
    frrConf: renderTemplate('fabric-configs/frr.conf.hbs', { ...common, ...frrView(sw, sw.bgp, timers) }),
    daemons: renderTemplate('fabric-configs/daemons.hbs', { ...common, setProfile: o.setProfile }),
  };
}

const flavour = (sw: Switch) => (sw.os === 'cumulus' ? 'Cumulus VX' : 'FRR on Debian');
const cidr = (a: IfAddr) => `${a.ip}/${a.prefixLen}`;

function interfacesView(sw: Switch) {
  return {
    loopback: sw.loopback ? `${sw.loopback}/32` : null,
    // Cumulus ships eth0 in the management VRF; keep it so, or Vagrant loses the switch.
    mgmtVrf: sw.os === 'cumulus',
    ports: sw.ports.map((p) => ({ name: p.name, alias: `to ${p.peer} ${p.peerIface}`, address: p.addr ? cidr(p.addr) : null })),
    bridge: sw.bridge
      ? {
        name: sw.bridge.name,
        alias: sw.kind === 'leaf' ? `rack ${sw.name} gateway` : 'LAN gateway',
        // A rack without nodes gets a dummy member in the template: an empty bridge is
        // down on a VM (no rack route), and ifupdown2's checker rejects `bridge-ports none`.
        ports: sw.bridge.members.length > 0 ? sw.bridge.members.join(' ') : null,
        address: cidr(sw.bridge.addr),
      }
      : null,
  };
}

function frrView(sw: Switch, bgp: SwitchBgp, timers: BgpTimers) {
  const listen = bgp.listen;
  if (listen && listen.peerGroup === FABRIC_PEER_GROUP) throw new Error(`peer group ${FABRIC_PEER_GROUP} is reserved for the fabric sessions`);
  return {
    asn: bgp.asn,
    routerId: bgp.routerId,
    timers: { ...FAST_TIMERS, ...timers },
    fabricGroup: FABRIC_PEER_GROUP,
    maximumPaths: MAXIMUM_PATHS,
    interfaces: sw.ports.map((p) => ({ name: p.name, description: `to ${p.peer} ${p.peerIface}` })),
    neighbors: bgp.neighbors.map((n) => ({ ip: n.ip, remoteAsn: n.remoteAsn, description: n.description })),
    networks: bgp.networks,
    allowasIn: bgp.allowasIn ?? null,
    listen: listen
      ? {
        peerGroup: listen.peerGroup,
        remoteAs: listen.remoteAs,
        range: listen.range,
        description: `${sw.name} rack nodes (${listen.remoteAs === 'external' ? 'eBGP, AS per node' : 'iBGP, AS per rack'})`,
        limit: listenLimit(listen.range),
        routeReflectorClient: listen.routeReflectorClient,
        nextHopSelf: listen.nextHopSelf,
        defaultOnly: listen.routesToNodes === 'default' ? DEFAULT_ONLY_LIST : null,
      }
      : null,
  };
}

/** Room for every host address of the rack but the gateway, so nodes can join freely. */
function listenLimit(range: string): number {
  const hosts = size(parseCidr(range)) - 3; // network, broadcast, gateway
  return Math.min(FRR_LISTEN_LIMIT_MAX, Math.max(1, hosts));
}
