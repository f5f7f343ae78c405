// Two bounds on concurrent observation work for the whole process, sized to the host:
// every observer takes a slot, devices and capture's pinger from one pool, reachability
// probes (mostly waiting for replies) from a larger one, so a lab of 292 devices and 512
// pods never starts hundreds of processes on a 2-core machine.
import { availableParallelism } from 'node:os';
export { hostLoad } from '../host-load.js';

/** Execs at once: two per CPU (an observation is mostly waiting on a daemon or on ICMP). */
export const OBSERVE_CONCURRENCY = Math.max(2, Number(process.env.FABRIC_LAB_OBSERVE_CONCURRENCY) || 2 * availableParallelism());
/**
 * Reachability probes at once, beside those: eight per CPU. A probe (fping to a pod's
 * targets, a TTL ping) spends ~45 ms waiting for replies and ~5 ms of CPU, so at the
 * general bound dc-256's 512 probes left the CPUs mostly idle (verify 10.4 s; 7.9 s here).
 */
export const PROBE_CONCURRENCY = Math.max(2, Number(process.env.FABRIC_LAB_PROBE_CONCURRENCY) || 8 * availableParallelism());

/**
 * Probes that must wait out their timeout, at once, beside those: sixty-four per CPU, at
 * most 128. A source whose targets NetworkPolicy blocks sends its echoes (~5 ms of CPU) and
 * then only waits fping's second for replies that must not come; at PROBE_CONCURRENCY
 * dc-256's 512 such sources queued for 32 s of sleeping (bench/README.md has the curve).
 * Each slot is a pooled helper (~11 MB resident, kept while the process lives, as in
 * `lab serve`): the cap bounds them on a many-core host.
 */
export const WAIT_CONCURRENCY = Math.max(2, Number(process.env.FABRIC_LAB_WAIT_CONCURRENCY) || Math.min(128, 64 * availableParallelism()));

function slots(size: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>, o: { first?: boolean } = {}): Promise<T> => {
    if (active >= size) await new Promise<void>((wake) => (o.first ? queue.unshift(wake) : queue.push(wake)));
    else active++;
    try {
      return await fn();
    } finally {
      const next = queue.shift();
      if (next) next(); // the slot passes on
      else active--;
    }
  };
}

/**
 * Run fn when a slot is free (FIFO; `first`: ahead of everything waiting, for work whose
 * timing matters, like the ping a running capture waits for).
 */
export const withSlot: <T>(fn: () => Promise<T>, o?: { first?: boolean }) => Promise<T> = slots(OBSERVE_CONCURRENCY);

/** The same for reachability probes, in their own, larger pool (PROBE_CONCURRENCY). */
export const withProbeSlot: <T>(fn: () => Promise<T>, o?: { first?: boolean }) => Promise<T> = slots(PROBE_CONCURRENCY);

/** The same for probes expected to wait out their timeout (a target no reply may come from), in the largest pool (WAIT_CONCURRENCY). */
export const withWaitSlot: <T>(fn: () => Promise<T>, o?: { first?: boolean }) => Promise<T> = slots(WAIT_CONCURRENCY);

