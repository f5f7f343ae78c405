// Address arithmetic for the plan, on top of the loader's strict IPv4 parsing: the lab
// is validated by now, so a parse failure here is a bug, not bad input.
import { formatIp, parseIp, parseNet, type Net } from '../lab/ipv4.js';

export const intToIp = formatIp;

export function ipToInt(ip: string): number {
  const n = parseIp(ip);
  if (n === undefined) throw new Error(`not an IPv4 address: ${ip}`);
  return n;
}

export function parseCidr(cidr: string): Net {
  const r = parseNet(cidr);
  if ('error' in r) throw new Error(r.error);
  return r.net;
}

export const size = (c: Net) => c.size;

/** Address number `n` of a CIDR (0 = network address). */
export const nthAddress = (cidr: string, n: number) => formatIp(parseCidr(cidr).base + n);

/** Subnet number `i` of length `len` inside `cidr`, as a CIDR string. */
export function nthSubnet(cidr: string, len: number, i: number): string {
  return `${formatIp(parseCidr(cidr).base + i * 2 ** (32 - len))}/${len}`;
}
