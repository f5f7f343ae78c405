// Deterministic names and MACs: same lab file, same plan, byte for byte.
import { createHash } from 'node:crypto';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Locally administered unicast MAC with a fixed first byte, rest from a hash. */
export function hashedMac(firstByte: number, seed: string): string {
  const h = digest(seed);
  return [firstByte, h[0], h[1], h[2], h[3], h[4]].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The MAC the CNI bridge plugin gives a pod: 0a:58 followed by the IPv4 address. */
export function ipMac(ip: string): string {
  return ['0a', '58', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

/** Calico's host-side veth name: "cali" + first 11 hex of sha1(namespace.pod). */
export function caliIface(namespace: string, pod: string): string {
  return 'cali' + createHash('sha1').update(`${namespace}.${pod}`).digest('hex').slice(0, 11);
}

export function vethIface(namespace: string, pod: string): string {
  return 'veth' + createHash('sha1').update(`${namespace}/${pod}`).digest('hex').slice(0, 8);
}

// Kubernetes' safe alphabet for generated name suffixes (no vowels, no 0/1/3).
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
function safeString(seed: string, len: number): string {
  const h = digest(seed);
  let out = '';
  for (let i = 0; i < len; i++) out += SAFE[h[i] % SAFE.length];
  return out;
}

/** Deployment-style pod name: <workload>-<template hash>-<suffix>. */
export function podName(lab: string, workload: string, index: number): string {
  return `${workload}-${safeString(`${lab}/${workload}`, 10)}-${safeString(`${lab}/${workload}/${index}`, 5)}`;
}
