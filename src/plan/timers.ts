// BGP keepalive and hold times that scale with the lab (labs/README.md, "BGP timers").
// Small labs use fast timers so they converge (and notice a failure) in seconds; in big
// labs the same timers expire while 2 cores install hundreds of thousands of routes and
// start a thousand daemons, so the hold time grows with the number of nodes.
import type { BgpTimers, Lab } from '../lab/types.js';

export interface PlanTimers {
  /** FRR on the switches. */
  fabric: BgpTimers;
  /** BIRD on the nodes (Calico BGP and IPIP modes). */
  nodes: BgpTimers;
  /** Where they come from: the lab file, or the size rule. */
  source: 'lab file' | 'size';
}

/** Size rule: [fewer than this many nodes, FRR timers, BIRD timers]; the last row has no bound. */
export const TIMER_TIERS: readonly [number, BgpTimers, BgpTimers][] = [
  [128, { keepalive: 3, hold: 9 }, { keepalive: 1, hold: 3 }],
  [512, { keepalive: 5, hold: 15 }, { keepalive: 5, hold: 15 }],
  [Infinity, { keepalive: 10, hold: 30 }, { keepalive: 10, hold: 30 }],
];

export function planTimers(lab: Lab): PlanTimers {
  const explicit = lab.fabric?.bgpTimers;
  if (explicit) return { fabric: { ...explicit }, nodes: { ...explicit }, source: 'lab file' };
  const n = lab.kubernetes?.nodes.length ?? 0;
  const [, fabric, nodes] = TIMER_TIERS.find(([below]) => n < below)!;
  return { fabric: { ...fabric }, nodes: { ...nodes }, source: 'size' };
}
