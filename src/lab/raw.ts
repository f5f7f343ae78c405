// Careful reading of the parsed YAML for the semantic checks. They run even when the
// schema found problems (so one report holds every problem), hence nothing here
// trusts a type: a value of the wrong type simply reads as absent.
import type { Seg } from './positions.js';
import { expandNodesPerLeaf } from './expand.js';

export type Raw = Record<string, unknown>;

export const obj = (v: unknown): Raw | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined;
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
export const int = (v: unknown): number | undefined => (Number.isInteger(v) ? (v as number) : undefined);

/** The mappings of a list, each with its path (entries of the wrong type are skipped). */
export interface Entry {
  path: Seg[];
  v: Raw;
  /** Declared by kubernetes.nodesPerLeaf (path points at that block): which one, for messages. */
  generated?: string;
}
export function entries(v: unknown, path: Seg[]): Entry[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((item, i) => (obj(item) ? [{ path: [...path, i], v: obj(item)! }] : []));
}

/** Everything the checks look at, read once. */
export interface LabView {
  root: Raw;
  fabric?: Raw;
  lan?: Raw;
  kubernetes?: Raw;
  cni?: Raw;
  calico?: Raw;
  bridge?: Raw;
  spines: Entry[];
  leaves: Entry[];
  nodes: Entry[];
  workloads: Entry[];
  /** Pod networking as far as it can be told: a Calico mode, 'bridge', or undefined. */
  plugin?: string;
  mode?: string;
}

export function view(root: Raw): LabView {
  const fabric = obj(root.fabric);
  const kubernetes = obj(root.kubernetes);
  const cni = obj(root.cni);
  const calico = obj(cni?.calico);
  const leaves = entries(fabric?.leaves, ['fabric', 'leaves']);
  // Generated nodes only on a fabric (a lan has no leaves; checks.ts says so).
  const leafNames = leaves.map((l) => str(l.v.name)).filter((n): n is string => n !== undefined);
  const generated = fabric ? expandNodesPerLeaf(kubernetes?.nodesPerLeaf, leafNames) : [];
  return {
    root, fabric, lan: obj(root.lan), kubernetes, cni, calico, bridge: obj(cni?.bridge),
    spines: entries(fabric?.spines, ['fabric', 'spines']),
    leaves,
    nodes: [
      ...entries(kubernetes?.nodes, ['kubernetes', 'nodes']),
      ...generated.map((g, k): Entry => ({
        path: ['kubernetes', 'nodesPerLeaf'], v: { ...g },
        generated: `kubernetes.nodesPerLeaf (node ${Math.floor(k / leafNames.length) + 1} of ${g.leaf})`,
      })),
    ],
    workloads: entries(root.workloads, ['workloads']),
    plugin: str(cni?.plugin),
    mode: str(calico?.mode),
  };
}
