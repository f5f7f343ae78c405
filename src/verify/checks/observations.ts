// Everything the observers saw, keyed for the pure checks.
import type { SwitchObservation, NodeObservation, Observed, ReachObservation } from '../../observe/types.js';
import type { CaptureObservation } from '../../observe/capture.js';
import type { PairSample } from '../sample.js';

export interface Observations {
  switches: Map<string, SwitchObservation>;
  nodes: Map<string, NodeObservation>;
  /** Keyed by source pod: what it saw of each of its targets. */
  reach: Map<string, Observed<ReachObservation>>;
  /** The pod pairs probed (and those whose TTL was read). */
  sample?: PairSample;
  capture?: Observed<CaptureObservation>;
  /**
   * Switch -> prefix -> the AS paths FRR uses, asked only for routes that leave through a
   * neighbour the intent does not name (to show a valley's path). Absent: not asked or not seen.
   */
  asPaths?: Map<string, Map<string, string[]>>;
}

export function emptyObservations(): Observations {
  return { switches: new Map(), nodes: new Map(), reach: new Map() };
}
