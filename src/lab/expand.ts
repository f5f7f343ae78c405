// `kubernetes.nodesPerLeaf`: many nodes declared at once, `count` on every leaf, named by
// a pattern. The loader's checks and the defaults both expand it here, so the nodes the
// checks judge are exactly the nodes the plan gets.
import { int, obj, str, type Raw } from './raw.js';

/** Placeholders of a node name pattern, with what each stands for (labs/README.md). */
export const NODE_PLACEHOLDERS: Record<string, string> = {
  leaf: 'the leaf name',
  l: 'the leaf number, 1-based in file order',
  i: 'the node number within its leaf, 1-based',
  n: 'the node number across all leaves, 1-based (node 1 of every leaf first, then node 2 ...)',
};

export interface GeneratedNode { name: string; leaf: string; role: 'control-plane' | 'worker' }

/** Placeholders in `pattern` that are not in NODE_PLACEHOLDERS, and braces that open no placeholder. */
export function patternProblems(pattern: string): string[] {
  const out: string[] = [];
  for (const m of pattern.matchAll(/\{([^{}]*)\}/g)) {
    if (!Object.hasOwn(NODE_PLACEHOLDERS, m[1])) out.push(`unknown placeholder {${m[1]}}`);
  }
  if (/[{}]/.test(pattern.replace(/\{[^{}]*\}/g, ''))) out.push('unbalanced "{" or "}"');
  return out;
}

/**
 * The nodes a nodesPerLeaf block declares, by node number then leaf order; empty when the
 * block is absent or unusable (its problems are reported by the checks).
 */
export function expandNodesPerLeaf(block: unknown, leafNames: string[]): GeneratedNode[] {
  const b: Raw | undefined = obj(block);
  const count = int(b?.count);
  const pattern = str(b?.name);
  if (!b || count === undefined || count < 1 || pattern === undefined || patternProblems(pattern).length) return [];
  const controlPlanes = int(b.controlPlanes) ?? 0;
  const out: GeneratedNode[] = [];
  // Node 1 of every leaf, then node 2 of every leaf ...: the first nodes (control planes,
  // the pods spread over distinct workers first) are spread over the racks.
  for (let i = 1; i <= count; i++) {
    leafNames.forEach((leaf, l) => {
      const n = out.length + 1;
      const values: Record<string, string> = { leaf, l: String(l + 1), i: String(i), n: String(n) };
      out.push({ name: pattern.replace(/\{(\w+)\}/g, (_m, k: string) => values[k]), leaf, role: n <= controlPlanes ? 'control-plane' : 'worker' });
    });
  }
  return out;
}
