// Strict IPv4 parsing for validation: four-part decimal only (ipaddr.js alone also
// accepts forms like "10.1" or "0x0a.0.0.1"), networks in canonical form, and the
// integer maths (containment, overlap, size) the checks need.
import ipaddr from 'ipaddr.js';

export interface Net { text: string; base: number; prefixLen: number; size: number }

export function parseIp(s: string): number | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(s)) return undefined;
  const b = ipaddr.IPv4.parse(s).octets;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Why `s` is not an IPv4 address, in words a user can act on. */
export function ipProblem(s: string): string {
  if (s.includes(':')) return `"${s}" is IPv6; labs are IPv4 only: use an address like 10.0.101.10`;
  if (s.includes('/')) return `"${s}" is a network; use a single address like 10.0.101.10 (no /prefix)`;
  return `"${s}" is not an IPv4 address; use four decimal numbers 0-255 like 10.0.101.10`;
}

export type NetResult = { net: Net } | { error: string };

export function parseNet(s: string): NetResult {
  const slash = s.indexOf('/');
  if (s.includes(':')) return { error: `"${s}" is IPv6; labs are IPv4 only: use a network like 10.0.0.0/24` };
  if (slash < 0) return { error: `"${s}" has no /prefix; use CIDR form like 10.0.0.0/24` };
  const addr = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  const base = parseIp(addr);
  if (base === undefined) return { error: `"${addr}" in "${s}" is not an IPv4 address; use CIDR form like 10.0.0.0/24` };
  if (!/^(0|[1-9][0-9]?)$/.test(lenText) || Number(lenText) > 32) {
    return { error: `"/${lenText}" in "${s}" is not a prefix length; use 0..32, like 10.0.0.0/24` };
  }
  const prefixLen = Number(lenText);
  const mask = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
  const network = (base & mask) >>> 0;
  const canonical = `${formatIp(network)}/${prefixLen}`;
  if (network !== base) return { error: `"${s}" is not a network address (host bits set); did you mean ${canonical}?` };
  return { net: { text: canonical, base: network, prefixLen, size: 2 ** (32 - prefixLen) } };
}

export const contains = (n: Net, ip: number) => ip >= n.base && ip < n.base + n.size;
export const overlaps = (a: Net, b: Net) => a.base < b.base + b.size && b.base < a.base + a.size;
export const broadcast = (n: Net) => n.base + n.size - 1;

/**
 * Offset of the first automatic node address in a rack or LAN (DESIGN 2: "next free host
 * from .101"): .101 where the subnet holds more than 102 addresses, else .2. The loader's
 * capacity check and the plan's allocation both use it.
 */
export const firstAutoHostOffset = (n: Pick<Net, 'size'>) => (n.size > 102 ? 101 : 2);

/** Ranges no lab network may touch: they mean something else to every host. */
export const SPECIAL_RANGES: ReadonlyArray<{ net: Net; why: string }> = [
  ['0.0.0.0/8', '"this network"'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (Calico uses 169.254.1.1 as the pod gateway)'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
].map(([text, why]) => ({ net: (parseNet(text) as { net: Net }).net, why }));
