// IPv4 arithmetic on 32-bit integers. ipaddr.js parses and validates; counting
// subnets and hosts is plain integer maths, which it does not offer.
import ipaddr from 'ipaddr.js';

export interface Cidr { base: number; prefixLen: number }

export function ipToInt(ip: string): number {
  const b = ipaddr.IPv4.parse(ip).octets;
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): Cidr {
  const [ip, len] = ipaddr.IPv4.parseCIDR(cidr);
  const prefixLen = len;
  const mask = prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
  return { base: (ipToInt(ip.toString()) & mask) >>> 0, prefixLen };
}

export const size = (c: Cidr) => 2 ** (32 - c.prefixLen);

/** Address number `n` of a CIDR (0 = network address). */
export const nthAddress = (cidr: string, n: number) => intToIp(parseCidr(cidr).base + n);

/** Subnet number `i` of length `len` inside `cidr`, as a CIDR string. */
export function nthSubnet(cidr: string, len: number, i: number): string {
  const c = parseCidr(cidr);
  return `${intToIp(c.base + i * 2 ** (32 - len))}/${len}`;
}

export function contains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  const n = ipToInt(ip);
  return n >= c.base && n < c.base + size(c);
}
