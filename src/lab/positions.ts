// YAML parsing that keeps node positions, and the mapping from a field path
// (["kubernetes", "nodes", 1, "ip"]) to the line and column it came from.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

export type Seg = string | number;

/** A problem before it is positioned: the field it is about and what is wrong. */
export interface Issue {
  path: Seg[];
  message: string;
  /** Point at the key itself (unknown or missing keys) instead of its value. */
  at?: 'key' | 'value';
}

export interface Parsed {
  doc: Document;
  lines: LineCounter;
  /** Problems of the YAML itself, already positioned (line, col 1-based). */
  syntax: { line: number; col: number; message: string }[];
}

export function parseYaml(source: string): Parsed {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, strict: true });
  // Warnings (an unknown !tag, an odd %directive) would change what the file means
  // without saying so: treat them as errors too.
  const syntax = [...doc.errors, ...doc.warnings].map((e) => ({ ...lines.linePos(e.pos[0]), message: yamlMessage(e.code, e.message, source, e.pos[0]) }));
  return { doc, lines, syntax };
}

function yamlMessage(code: string, message: string, source: string, pos: number): string {
  if (code === 'DUPLICATE_KEY') {
    const key = /^(?:"[^"\n]*"|'[^'\n]*'|[^\s:,{}[\]]+)/.exec(source.slice(pos))?.[0] ?? '';
    return `duplicate key ${key.startsWith('"') ? key : `"${key.replace(/^'|'$/g, '')}"`}: each key may appear once in a mapping`;
  }
  if (code === 'MULTIPLE_DOCS') return 'more than one YAML document ("---"): a lab file holds exactly one';
  if (/call stack/i.test(message)) return 'YAML: nested too deeply';
  return `YAML: ${message}`;
}

const keyText = (key: unknown) => String(isScalar(key) ? key.value : key);

/** Line and column (1-based) of the node at `path`, or of the nearest ancestor that exists. */
export function locate(parsed: Parsed, path: Seg[], at: 'key' | 'value' = 'value'): { line: number; col: number } {
  const { doc, lines } = parsed;
  let node: unknown = doc.contents;
  let keyNode: unknown;
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    keyNode = undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => keyText(p.key) === String(seg));
      if (pair) { keyNode = pair.key; next = pair.value ?? pair.key; }
    } else if (isSeq(node)) {
      next = node.items[Number(seg)];
    }
    if (next === undefined || next === null) break;
    node = next;
  }
  const target = (at === 'key' && keyNode ? keyNode : node) as Node | null | undefined;
  return lines.linePos(target?.range?.[0] ?? 0);
}

/** The source text of the value at `path` exactly as written (e.g. `1.30` where YAML read 1.3). */
export function sourceText(parsed: Parsed, source: string, path: Seg[]): string | undefined {
  const node = parsed.doc.getIn(path, true);
  return isScalar(node) && node.range ? source.slice(node.range[0], node.range[1]) : undefined;
}

/** "kubernetes.nodes[1].ip" */
export function formatPath(path: Seg[]): string {
  return path.map((seg, i) => typeof seg === 'number' ? `[${seg}]`
    : /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg) ? (i ? '.' : '') + seg : `[${JSON.stringify(seg)}]`).join('');
}
