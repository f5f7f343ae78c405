// One bound on concurrent observation work for the whole process, sized to the host:
// every observer (devices, reachability, capture's pinger) takes a slot, so a lab of 148
// devices and 64 pods never starts hundreds of processes on a 2-core machine.
import { availableParallelism, loadavg } from 'node:os';

/** Execs at once: two per CPU (an observation is mostly waiting on a daemon or on ICMP). */
export const OBSERVE_CONCURRENCY = Math.max(2, Number(process.env.FABRIC_LAB_OBSERVE_CONCURRENCY) || 2 * availableParallelism());

let active = 0;
const queue: (() => void)[] = [];

/**
 * Run fn when a slot is free (FIFO; `first`: ahead of everything waiting, for work whose
 * timing matters, like the ping a running capture waits for behind hundreds of probes).
 */
export async function withSlot<T>(fn: () => Promise<T>, o: { first?: boolean } = {}): Promise<T> {
  if (active >= OBSERVE_CONCURRENCY) await new Promise<void>((wake) => (o.first ? queue.unshift(wake) : queue.push(wake)));
  else active++;
  try {
    return await fn();
  } finally {
    const next = queue.shift();
    if (next) next(); // the slot passes on
    else active--;
  }
}

/** "host load 7.3 on 2 CPUs": said beside every timeout, which is the host's fault as often as the lab's. */
export const hostLoad = () => `host load ${loadavg()[0].toFixed(1)} on ${availableParallelism()} CPUs`;
