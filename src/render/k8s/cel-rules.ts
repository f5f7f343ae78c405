// The CEL rules (`x-kubernetes-validations`) of the vendored Calico CRDs, hand-written in
// TypeScript: ajv cannot evaluate CEL. Keyed by the exact rule text, so a rule that is
// added or changed in a CRD is unknown here and the validator refuses to compile the
// schema (see calico-validate.ts) instead of silently skipping it.
import ipaddr from 'ipaddr.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Self = any;
export type CelRule = (self: Self) => boolean;

/** Transition rules compare with the stored object; a created object has none. */
export const TRANSITION_RULES = new Set(['self == oldSelf']);

const has = (o: Self, k: string) => o !== null && typeof o === 'object' && o[k] !== undefined;
const size = (v: unknown) => (typeof v === 'string' || Array.isArray(v) ? v.length : 0);
const empty = (o: Self, k: string) => !has(o, k) || size(o[k]) === 0;
const exists = (xs: unknown, f: (x: unknown) => boolean) => Array.isArray(xs) && xs.some(f);

/** CEL cidr(): throws (rule fails) on a malformed CIDR, like CEL's runtime error. */
function cidr(s: string) {
  const [addr, bits] = ipaddr.parseCIDR(s);
  const family = addr.kind() === 'ipv4' ? 4 : 6;
  const masked = (family === 4 ? ipaddr.IPv4.networkAddressFromCIDR(s) : ipaddr.IPv6.networkAddressFromCIDR(s)).toString();
  return {
    family, bits,
    masked: masked === addr.toString(),
    containsIP: (ip: string) => { const a = ipaddr.parse(ip); return a.kind() === addr.kind() && a.match(addr, bits); },
    ip: addr.toString(),
  };
}

const isIpFamily = (s: string, family: 4 | 6) => ipaddr.isValid(s) && ipaddr.parse(s).kind() === (family === 4 ? 'ipv4' : 'ipv6');
const encapOff = (o: Self, k: string) => !has(o, k) || size(o[k]) === 0 || o[k] === 'Never';
const lb = (o: Self) => exists(o.allowedUses, (u) => u === 'LoadBalancer');

export const CEL_RULES: Record<string, CelRule> = {
  // IPPool
  "!has(self.ipipMode) || !has(self.vxlanMode) || self.ipipMode == 'Never' || self.vxlanMode == 'Never' || size(self.ipipMode) == 0 || size(self.vxlanMode) == 0":
    (s) => encapOff(s, 'ipipMode') || encapOff(s, 'vxlanMode'),
  "!has(self.allowedUses) || !self.allowedUses.exists(u, u == 'LoadBalancer') || (!has(self.ipipMode) || size(self.ipipMode) == 0 || self.ipipMode == 'Never') && (!has(self.vxlanMode) || size(self.vxlanMode) == 0 || self.vxlanMode == 'Never')":
    (s) => !lb(s) || (encapOff(s, 'ipipMode') && encapOff(s, 'vxlanMode')),
  "!has(self.allowedUses) || !self.allowedUses.exists(u, u == 'LoadBalancer') || !self.allowedUses.exists(u, u == 'Workload' || u == 'Tunnel')":
    (s) => !lb(s) || !exists(s.allowedUses, (u) => u === 'Workload' || u === 'Tunnel'),
  "cidr(self.cidr).ip().family() != 6 || !has(self.ipipMode) || self.ipipMode == 'Never' || size(self.ipipMode) == 0":
    (s) => cidr(s.cidr).family !== 6 || encapOff(s, 'ipipMode'),
  "!has(self.allowedUses) || !self.allowedUses.exists(u, u == 'LoadBalancer') || !has(self.disableBGPExport) || !self.disableBGPExport":
    (s) => !lb(s) || !s.disableBGPExport,
  "!has(self.allowedUses) || !self.allowedUses.exists(u, u == 'LoadBalancer') || self.nodeSelector == 'all()'":
    (s) => !lb(s) || s.nodeSelector === 'all()',
  "!has(self.allowedUses) || !self.allowedUses.exists(u, u == 'Tunnel') || !has(self.namespaceSelector) || size(self.namespaceSelector) == 0":
    (s) => !exists(s.allowedUses, (u) => u === 'Tunnel') || empty(s, 'namespaceSelector'),
  "!has(self.nodeSelector) || !self.nodeSelector.contains('global(')": (s) => !has(s, 'nodeSelector') || !String(s.nodeSelector).includes('global('),
  "!has(self.namespaceSelector) || !self.namespaceSelector.contains('global(')": (s) => !has(s, 'namespaceSelector') || !String(s.namespaceSelector).includes('global('),
  'cidr(self.cidr) == cidr(self.cidr).masked()': (s) => cidr(s.cidr).masked,
  "!cidr('169.254.0.0/16').containsIP(cidr(self.cidr).ip()) && !cidr(self.cidr).containsIP('169.254.0.0')":
    (s) => !cidr('169.254.0.0/16').containsIP(cidr(s.cidr).ip) && !cidr(s.cidr).containsIP('169.254.0.0'),
  "!cidr('fe80::/10').containsIP(cidr(self.cidr).ip()) && !cidr(self.cidr).containsIP('fe80::')":
    (s) => !cidr('fe80::/10').containsIP(cidr(s.cidr).ip) && !cidr(s.cidr).containsIP('fe80::'),
  '!has(self.blockSize) || self.blockSize == 0 || (cidr(self.cidr).ip().family() == 4 ? self.blockSize >= 20 && self.blockSize <= 32 : self.blockSize >= 116 && self.blockSize <= 128)':
    (s) => !has(s, 'blockSize') || s.blockSize === 0 || (cidr(s.cidr).family === 4 ? s.blockSize >= 20 && s.blockSize <= 32 : s.blockSize >= 116 && s.blockSize <= 128),
  '(has(self.disabled) && self.disabled) || cidr(self.cidr).prefixLength() <= (has(self.blockSize) && self.blockSize != 0 ? self.blockSize : (cidr(self.cidr).ip().family() == 4 ? 26 : 122))':
    (s) => s.disabled === true || cidr(s.cidr).bits <= (has(s, 'blockSize') && s.blockSize !== 0 ? s.blockSize : cidr(s.cidr).family === 4 ? 26 : 122),
  // BGPPeer
  '(!has(self.node) || size(self.node) == 0) || (!has(self.nodeSelector) || size(self.nodeSelector) == 0)': (s) => empty(s, 'node') || empty(s, 'nodeSelector'),
  '(!has(self.peerIP) || size(self.peerIP) == 0) || (!has(self.peerSelector) || size(self.peerSelector) == 0)': (s) => empty(s, 'peerIP') || empty(s, 'peerSelector'),
  '(!has(self.peerSelector) || size(self.peerSelector) == 0) || !has(self.asNumber) || self.asNumber == 0': (s) => empty(s, 'peerSelector') || !has(s, 'asNumber') || s.asNumber === 0,
  '(!has(self.localWorkloadSelector) || size(self.localWorkloadSelector) == 0) || (!has(self.peerIP) || size(self.peerIP) == 0)': (s) => empty(s, 'localWorkloadSelector') || empty(s, 'peerIP'),
  '(!has(self.localWorkloadSelector) || size(self.localWorkloadSelector) == 0) || (!has(self.peerSelector) || size(self.peerSelector) == 0)': (s) => empty(s, 'localWorkloadSelector') || empty(s, 'peerSelector'),
  '(!has(self.localWorkloadSelector) || size(self.localWorkloadSelector) == 0) || (has(self.asNumber) && self.asNumber != 0)': (s) => empty(s, 'localWorkloadSelector') || (has(s, 'asNumber') && s.asNumber !== 0),
  '!has(self.reachableBy) || size(self.reachableBy) == 0 || (has(self.peerIP) && size(self.peerIP) > 0)': (s) => empty(s, 'reachableBy') || !empty(s, 'peerIP'),
  '!has(self.keepOriginalNextHop) || !self.keepOriginalNextHop || !has(self.nextHopMode)': (s) => !s.keepOriginalNextHop || !has(s, 'nextHopMode'),
  // BGPConfiguration
  '!has(self.nodeMeshPassword) || !has(self.nodeToNodeMeshEnabled) || self.nodeToNodeMeshEnabled == true': (s) => !has(s, 'nodeMeshPassword') || !has(s, 'nodeToNodeMeshEnabled') || s.nodeToNodeMeshEnabled === true,
  '!has(self.nodeMeshMaxRestartTime) || !has(self.nodeToNodeMeshEnabled) || self.nodeToNodeMeshEnabled == true': (s) => !has(s, 'nodeMeshMaxRestartTime') || !has(s, 'nodeToNodeMeshEnabled') || s.nodeToNodeMeshEnabled === true,
  '!has(self.communities) || size(self.communities) == 0 || (has(self.prefixAdvertisements) && size(self.prefixAdvertisements) > 0)': (s) => empty(s, 'communities') || !empty(s, 'prefixAdvertisements'),
  // FelixConfiguration
  'self.min >= 1 && self.max >= self.min && self.max <= 250': (s) => s.min >= 1 && s.max >= s.min && s.max <= 250,
  'self.min >= 1': (s) => s.min >= 1,
  'self.min <= self.max': (s) => s.min <= s.max,
  '!has(self.routeTableRange) || !has(self.routeTableRanges)': (s) => !has(s, 'routeTableRange') || !has(s, 'routeTableRanges'),
  '!has(self.natOutgoingAddress) || size(self.natOutgoingAddress) == 0 || (isIP(self.natOutgoingAddress) && ip(self.natOutgoingAddress).family() == 4)':
    (s) => empty(s, 'natOutgoingAddress') || isIpFamily(s.natOutgoingAddress, 4),
  '!has(self.deviceRouteSourceAddress) || size(self.deviceRouteSourceAddress) == 0 || (isIP(self.deviceRouteSourceAddress) && ip(self.deviceRouteSourceAddress).family() == 4)':
    (s) => empty(s, 'deviceRouteSourceAddress') || isIpFamily(s.deviceRouteSourceAddress, 4),
  '!has(self.deviceRouteSourceAddressIPv6) || size(self.deviceRouteSourceAddressIPv6) == 0 || (isIP(self.deviceRouteSourceAddressIPv6) && ip(self.deviceRouteSourceAddressIPv6).family() == 6)':
    (s) => empty(s, 'deviceRouteSourceAddressIPv6') || isIpFamily(s.deviceRouteSourceAddressIPv6, 6),
  "self.metadata.name == 'default' || self.metadata.name.startsWith('node.') ? !has(self.spec.nodeSelector) : true":
    (s) => (s.metadata?.name === 'default' || String(s.metadata?.name).startsWith('node.') ? !has(s.spec, 'nodeSelector') : true),
};
