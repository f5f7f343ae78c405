// FRR's vtysh JSON. Several `-c` commands in one vtysh call print their JSON documents
// back to back ("}\n{"), and vtysh stops at the first command whose daemon is down
// ("bgpd is not running" on stderr), so the route table is asked for first.

export interface BgpPeer {
  ip: string;
  state: string;
  remoteAs?: number;
  dynamic: boolean;
  hostname?: string;
}

/**
 * Split concatenated JSON documents (vtysh output of several -c commands). vtysh prints
 * each document pretty, so each starts at the beginning of a line with `{` or `[`: split
 * there and parse each part (fast: large route tables); if a part is not JSON, scan.
 */
export function splitJsonDocuments(text: string): unknown[] {
  const parts = text.split(/^(?=[{[])/m).filter((x) => x.trim());
  try {
    return parts.filter((x) => /^[{[]/.test(x)).map((x) => JSON.parse(x));
  } catch {
    return scanJsonDocuments(text);
  }
}

function scanJsonDocuments(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if ((ch === '}' || ch === ']') && depth > 0) {
      depth--;
      if (depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return docs;
}

/** Peers of `show bgp summary json` (FRR 8.4: ipv4Unicast.peers keyed by address). */
export function parseBgpSummary(doc: unknown): BgpPeer[] {
  const peers = (doc as { ipv4Unicast?: { peers?: Record<string, Record<string, unknown>> } })?.ipv4Unicast?.peers ?? {};
  return Object.entries(peers).map(([ip, p]) => ({
    ip,
    state: String(p.state ?? 'unknown'),
    ...(typeof p.remoteAs === 'number' ? { remoteAs: p.remoteAs } : {}),
    dynamic: p.dynamicPeer === true,
    ...(typeof p.hostname === 'string' ? { hostname: p.hostname } : {}),
  }));
}

/** Next hops FRR's RIB has installed for each selected prefix of `show ip route json`. */
export function parseFrrRoutes(doc: unknown): Map<string, number> {
  const out = new Map<string, number>();
  for (const [prefix, entries] of Object.entries((doc ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(entries)) continue;
    const selected = entries.find((e) => e?.selected === true) as { nexthops?: Array<{ fib?: boolean; active?: boolean }> } | undefined;
    if (!selected) continue;
    const hops = selected.nexthops ?? [];
    out.set(prefix, hops.filter((h) => h.fib ?? h.active).length);
  }
  return out;
}

/**
 * The AS paths FRR forwards a prefix over, from `show bgp ipv4 unicast PREFIX json`
 * (FRR 8.4: paths[].aspath.string, bestpath.overall, multipath): the best path first.
 */
export function parseBgpPrefixPaths(doc: unknown): { prefix: string; asPaths: string[] } | undefined {
  const d = doc as { prefix?: unknown; paths?: Array<{ aspath?: { string?: unknown }; bestpath?: { overall?: unknown }; multipath?: unknown }> };
  if (typeof d?.prefix !== 'string' || !Array.isArray(d.paths)) return undefined;
  const used = d.paths.filter((x) => x.bestpath?.overall === true || x.multipath === true);
  used.sort((a, b) => Number(b.bestpath?.overall === true) - Number(a.bestpath?.overall === true));
  return { prefix: d.prefix, asPaths: used.map((x) => (typeof x.aspath?.string === 'string' ? x.aspath.string : '')) };
}
