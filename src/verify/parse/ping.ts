// iputils ping output: `64 bytes from 10.64.0.129: icmp_seq=1 ttl=62 time=0.2 ms` per
// reply, and the `N packets transmitted, M received` summary.

export interface PingResult {
  sent: number;
  received: number;
  /** TTLs of the echo replies, in arrival order. */
  ttls: number[];
}

export function parsePing(text: string): PingResult {
  const ttls = [...text.matchAll(/bytes from [^:]+: icmp_seq=\d+ ttl=(\d+)/g)].map((m) => Number(m[1]));
  const summary = /(\d+) packets transmitted, (\d+) received/.exec(text);
  return {
    sent: summary ? Number(summary[1]) : 0,
    received: summary ? Number(summary[2]) : ttls.length,
    ttls,
  };
}
