// encapsulation: what a pod-to-pod echo request looks like on the sending node's eth0.
// VXLAN: UDP outerSrc > outerDst.<port>, `vni <vni>`, the pod addresses inside. IPIP:
// outer node addresses around the inner packet. none: the plain ICMP and no VXLAN.
import type { Plan, EncapIntent } from '../../plan/types.js';
import { unknownCheck, type Check } from '../types.js';
import type { Observations } from './observations.js';
import { isEchoRequest, type CapturedPacket } from '../parse/tcpdump.js';
import { DEFAULT_VXLAN_PORT, captureFilter } from '../../observe/capture.js';

const icmp = (e: EncapIntent) => `${e.fromIp} > ${e.toIp} ICMP echo request`;

function expectedText(e: EncapIntent): string {
  const port = e.port ?? DEFAULT_VXLAN_PORT;
  if (e.kind === 'vxlan') return `VXLAN vni ${e.vni}, ${e.outerSrc} > ${e.outerDst}:${port}, inside ${icmp(e)}`;
  if (e.kind === 'ipip') return `IPIP ${e.outerSrc} > ${e.outerDst}, inside ${icmp(e)}`;
  return `plain ${icmp(e)}, no UDP port ${port}`;
}

function describe(p: CapturedPacket): string {
  const o = p.outer;
  if (p.vxlan) {
    const inner = p.inner ? `${p.inner.src} > ${p.inner.dst} ${p.inner.payload.split(',')[0]}` : 'unreadable inner frame';
    return `VXLAN vni ${p.vxlan.vni}, ${o.src} > ${o.dst}:${o.dstPort}, inside ${inner}`;
  }
  if (p.inner) return `IPIP ${o.src} > ${o.dst}, inside ${p.inner.src} > ${p.inner.dst} ${p.inner.payload.split(',')[0]}`;
  return `plain ${o.src} > ${o.dst} ${o.payload.split(',')[0]}`;
}

const isVxlanTo = (p: CapturedPacket, port: number) => !!p.vxlan || p.outer.dstPort === port || p.outer.srcPort === port;

/** Pure: judge captured packets against the intent. */
export function judgeEncapsulation(e: EncapIntent, packets: CapturedPacket[], durationMs: number): { ok: boolean; observed: string } {
  const port = e.port ?? DEFAULT_VXLAN_PORT;
  const ours = packets.filter((p) => isEchoRequest(p.inner, e.fromIp, e.toIp) || isEchoRequest(p.outer, e.fromIp, e.toIp));
  if (!ours.length) {
    return { ok: false, observed: `no echo request ${e.fromIp} > ${e.toIp} seen in ${(durationMs / 1000).toFixed(1)} s (${packets.length} other packets)` };
  }
  if (e.kind === 'none') {
    const udp = packets.filter((p) => isVxlanTo(p, port));
    const plain = ours.find((p) => !p.inner && !p.vxlan);
    if (plain && !udp.length) return { ok: true, observed: describe(plain) };
    return { ok: false, observed: udp.length ? `${describe(udp[0])} (${udp.length} packets on UDP port ${port})` : describe(ours[0]) };
  }
  const exact = ours.find((p) => p.outer.src === e.outerSrc && p.outer.dst === e.outerDst && (e.kind === 'vxlan'
    ? p.vxlan?.vni === e.vni && p.outer.dstPort === port
    : !p.vxlan && !!p.inner));
  if (exact) return { ok: true, observed: describe(exact) };
  return { ok: false, observed: describe(ours[0]) + (ours[0].inner || ours[0].vxlan ? '' : ' (not encapsulated)') };
}

export function encapsulationChecks(plan: Plan, obs: Observations): Check[] {
  const e = plan.intent.encapsulation;
  if (!e) return [];
  const subject = `${e.node} ${e.iface}: ${e.from} -> ${e.to}`;
  const about = { device: e.node, iface: e.iface, src: e.from, dst: e.to, srcIp: e.fromIp, dstIp: e.toIp };
  const expected = expectedText(e);
  const hint = `capture it yourself: \`lab capture ${plan.name} ${e.node} ${e.iface} -- -n -e '${captureFilter(e)}'\` `
    + `while \`lab exec ${plan.name} ${e.from} -- ping ${e.toIp}\` runs`;
  const seen = obs.capture;
  if (!seen || (!seen.ok && seen.unknown)) return [unknownCheck({ kind: 'encapsulation', subject, about, expected }, seen && !seen.ok ? seen.error : 'not observed', hint)];
  if (!seen.ok) {
    return [{ kind: 'encapsulation', subject, about, ok: false, expected, observed: `cannot capture: ${seen.error}`, hint }];
  }
  const { ok, observed } = judgeEncapsulation(e, seen.value.packets, seen.value.durationMs);
  return [{ kind: 'encapsulation', subject, about, ok, expected, observed, ...(ok ? {} : { hint }) }];
}
