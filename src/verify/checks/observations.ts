// Everything the observers saw, keyed for the pure checks.
import type { SwitchObservation, NodeObservation, Observed } from '../observe.js';
import type { PingResult } from '../parse/ping.js';
import type { CaptureObservation } from '../observe-capture.js';

export interface Observations {
  switches: Map<string, SwitchObservation>;
  nodes: Map<string, NodeObservation>;
  /** Keyed by pingKey(from, toIp). */
  pings: Map<string, Observed<PingResult>>;
  capture?: Observed<CaptureObservation>;
}

export const pingKey = (from: string, toIp: string) => `${from} ${toIp}`;

export function emptyObservations(): Observations {
  return { switches: new Map(), nodes: new Map(), pings: new Map() };
}
