// What the observation layer returns: a value seen on the running lab, or why not.
import type { BgpPeer } from '../verify/parse/frr.js';
import type { BirdBgpSession } from '../verify/parse/bird.js';
import type { KernelRoute } from '../verify/parse/kernel-routes.js';

/**
 * A value observed, or the reason it could not be. `unknown` marks "could not look" (the
 * exec timed out or failed to run): the lab may be fine, so a check built on it says
 * `unknown`, never `fail`. Without it the device answered, and the answer is an error
 * (e.g. "bgpd is not running"), which is a real observation.
 */
export type Observed<T> = { ok: true; value: T } | { ok: false; error: string; unknown?: boolean };

/** Interface name -> its MTU and whether it is up (`ip -j link show`). */
export type LinkStates = Map<string, { mtu: number; up: boolean }>;

export interface SwitchObservation {
  bgp: Observed<BgpPeer[]>;
  /**
   * FRR's RIB: installed next hops per selected prefix, to explain a route check that
   * failed (kernel and zebra out of sync); read by verify only for switches with one.
   */
  rib?: Observed<Map<string, number>>;
  kernel: Observed<KernelRoute[]>;
  /** The device's interfaces, read in the same exec (absent in observations built without them). */
  links?: Observed<LinkStates>;
}

export interface NodeObservation {
  /** Absent when the node runs no BGP speaker in this mode. */
  bgp?: Observed<BirdBgpSession[]>;
  kernel: Observed<KernelRoute[]>;
  links?: Observed<LinkStates>;
}

/** Echo replies from one source pod to each of its targets. */
export interface ReachObservation {
  /** Target IP -> packets sent and received. */
  replies: Map<string, { sent: number; received: number }>;
  /** Target IP -> TTLs of the replies (for the targets probed for TTL). */
  ttls: Map<string, number[]>;
  /** The pod's interfaces, read in the same exec. */
  links?: Observed<LinkStates>;
}

/** True when any part of an observation is "could not look". */
export const isUnknown = (o: Observed<unknown> | undefined) => !!o && !o.ok && !!o.unknown;
