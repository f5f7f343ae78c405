// Which pod pairs verify probes (pure). Every pair of pods on different nodes while the lab
// has at most FULL_MESH_PODS pods (or with --full); above, a deterministic sample in which
// every pod is a source and a destination and every (source node, destination rack) pair
// is covered: O(nodes x racks) pairs instead of O(pods^2). Also which pairs have their
// reply TTL read: per source pod its first target, and per (source node, TTL class) one.
import type { Plan, PingIntent, Pod, KNode } from '../plan/types.js';
import { pingIntentOf } from '../plan/intent.js';

export const FULL_MESH_PODS = 64;

export interface PairSample {
  /** Pairs to ping, grouped by source pod (plan order). */
  bySource: Map<string, PingIntent[]>;
  /** Pairs whose reply TTL is read ("from toIp" keys). */
  ttl: Set<string>;
  pairs: number;
  /** Pairs of pods on different nodes in the lab. */
  of: number;
}

export const pairKey = (from: string, toIp: string) => `${from} ${toIp}`;

export function samplePairs(plan: Plan, opts: { full?: boolean; blockedBy?: (from: string, to: string) => string | undefined } = {}): PairSample {
  const nodes = new Map(plan.nodes.map((n) => [n.name, n] as const));
  const node = (p: Pod) => nodes.get(p.node)!;
  const onNode = new Map<string, Pod[]>();
  for (const p of plan.pods) onNode.set(p.node, [...(onNode.get(p.node) ?? []), p]);
  const of = plan.pods.length ** 2 - [...onNode.values()].reduce((sum, ps) => sum + ps.length ** 2, 0);
  const ping = pingIntentOf(plan);
  const intent = (a: Pod, b: Pod): PingIntent => {
    const p = ping(a, b);
    const by = opts.blockedBy?.(a.name, b.name);
    return by ? { ...p, blockedBy: by } : p;
  };

  const chosen = new Map<string, Map<string, PingIntent>>(plan.pods.map((p) => [p.name, new Map()]));
  const add = (a: Pod, b: Pod) => { chosen.get(a.name)!.set(b.name, intent(a, b)); };

  if (opts.full || plan.pods.length <= FULL_MESH_PODS) {
    for (const a of plan.pods) for (const b of plan.pods) if (a.node !== b.node) add(a, b);
  } else {
    const rackOf = (n: KNode) => n.rack ?? '';
    const inRack = new Map<string, Pod[]>();
    for (const p of plan.pods) inRack.set(rackOf(node(p)), [...(inRack.get(rackOf(node(p))) ?? []), p]);
    const turn = new Map<string, number>();
    const next = <T>(key: string, list: T[]): T => {
      const i = turn.get(key) ?? 0;
      turn.set(key, i + 1);
      return list[i % list.length];
    };
    const dests = new Set<string>();
    for (const [n, pods] of onNode) {
      for (const [rack, rackPods] of inRack) {
        const candidates = rackPods.filter((p) => p.node !== n);
        if (!candidates.length) continue;
        // One counter per rack: successive source nodes reach successive pods of the rack.
        const b = next(`rack ${rack}`, candidates);
        add(next(`node ${n}`, pods), b);
        dests.add(b.name);
      }
    }
    // Every pod a source and a destination (a node with more pods than there are racks).
    const others = (p: Pod) => plan.pods.filter((q) => q.node !== p.node);
    for (const a of plan.pods) if (!chosen.get(a.name)!.size && others(a).length) { const b = next('extra-dst', others(a)); add(a, b); dests.add(b.name); }
    for (const b of plan.pods) if (!dests.has(b.name) && others(b).length) add(next('extra-src', others(b)), b);
  }

  const bySource = new Map<string, PingIntent[]>();
  const ttl = new Set<string>();
  const classes = new Set<string>();
  let pairs = 0;
  for (const a of plan.pods) {
    const list = [...chosen.get(a.name)!.values()];
    if (!list.length) continue;
    bySource.set(a.name, list);
    pairs += list.length;
    // A TTL is read only where a reply may come: a pair NetworkPolicy blocks has none, and
    // its ping would only wait out its timeout.
    const open = list.filter((p) => !p.blockedBy);
    if (open.length) ttl.add(pairKey(a.name, open[0].toIp));
    for (const p of open) {
      const cls = `${a.node} ${p.ttl}`;
      if (!classes.has(cls)) { classes.add(cls); ttl.add(pairKey(a.name, p.toIp)); }
    }
  }
  return { bySource, ttl, pairs, of };
}
