// tcpdump text (`-n -l`, with or without `-e`). A packet starts with a timestamp; for
// VXLAN tcpdump prints the inner frame on the next line, without a timestamp. With IPIP
// the inner header follows the outer one on the same line.

export interface IpHeader {
  src: string;
  dst: string;
  srcPort?: number;
  dstPort?: number;
  /** What follows `src > dst: `, e.g. `ICMP echo request, id 1, seq 1, length 64`. */
  payload: string;
}

export interface CapturedPacket {
  outer: IpHeader;
  vxlan?: { vni: number };
  /** Encapsulated header (VXLAN's inner frame, IPIP's inner packet). */
  inner?: IpHeader;
  line: string;
}

const timestamp = /^\d{2}:\d{2}:\d{2}\.\d+ /;
const ipv4 = String.raw`\d{1,3}(?:\.\d{1,3}){3}`;
const header = new RegExp(String.raw`(${ipv4})(?:\.(\d+))? > (${ipv4})(?:\.(\d+))?: (.*)$`);

function parseHeader(text: string): IpHeader | undefined {
  const m = header.exec(text);
  if (!m) return undefined;
  return {
    src: m[1], dst: m[3],
    ...(m[2] ? { srcPort: Number(m[2]) } : {}),
    ...(m[4] ? { dstPort: Number(m[4]) } : {}),
    payload: m[5],
  };
}

/** Headers are found left to right: the first `a > b:` is the outer one. */
function firstHeader(text: string): IpHeader | undefined {
  const m = new RegExp(String.raw`(${ipv4})(?:\.\d+)? > ${ipv4}(?:\.\d+)?: `).exec(text);
  return m ? parseHeader(text.slice(m.index)) : undefined;
}

export function parseTcpdump(text: string): CapturedPacket[] {
  const packets: CapturedPacket[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (timestamp.test(line)) {
      const outer = firstHeader(line);
      if (!outer) continue; // ARP and friends
      const vni = /VXLAN.*\bvni (\d+)/.exec(outer.payload);
      const packet: CapturedPacket = { outer, line, ...(vni ? { vxlan: { vni: Number(vni[1]) } } : {}) };
      if (!vni) {
        const nested = firstHeader(outer.payload); // IPIP: `outer: inner: ICMP ...`
        if (nested) packet.inner = nested;
      }
      packets.push(packet);
    } else {
      const last = packets[packets.length - 1];
      if (last?.vxlan && !last.inner) last.inner = firstHeader(line);
    }
  }
  return packets;
}

export const isEchoRequest = (h: IpHeader | undefined, src: string, dst: string) =>
  !!h && h.src === src && h.dst === dst && /^ICMP echo request/.test(h.payload);
export const isEchoReply = (h: IpHeader | undefined, src: string, dst: string) =>
  !!h && h.src === src && h.dst === dst && /^ICMP echo reply/.test(h.payload);
