// `lab policy apply FILE`: Kubernetes NetworkPolicy documents (one or several, "---"
// separated, as `kubectl apply -f` takes them), checked against the networking.k8s.io/v1
// API schema (fields, types, required keys; unknown fields are errors, like kubectl's
// strict field validation) and the API server's own rules (names, label selectors,
// ports, CIDRs). Every problem is reported at once as `file:line:col  path  message`.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { LabFileError, type Problem } from '../errors.js';
import { dnsLabelProblem, dnsSubdomainProblem, labelKeyProblem, labelValueProblem, portNameProblem } from '../lab/k8s-names.js';
import { parseNet, contains, type Net } from '../lab/ipv4.js';
import { closest } from '../lab/shape-errors.js';
import type { NetworkPolicy } from './types.js';

type Seg = string | number;
interface Issue { path: Seg[]; message: string; at?: 'key' }

// The API schema of the fields (io.k8s.api.networking.v1.NetworkPolicy and friends).
type Field = { t: 'string' | 'int' | 'intOrString' | 'stringMap' } | { t: 'object'; fields: Record<string, Field>; required?: string[] } | { t: 'list'; of: Field };
const S: Field = { t: 'string' };
const obj = (fields: Record<string, Field>, required: string[] = []): Field => ({ t: 'object', fields, required });
const list = (of: Field): Field => ({ t: 'list', of });
const selector = obj({ matchLabels: { t: 'stringMap' }, matchExpressions: list(obj({ key: S, operator: S, values: list(S) }, ['key', 'operator'])) });
const peer = obj({ podSelector: selector, namespaceSelector: selector, ipBlock: obj({ cidr: S, except: list(S) }, ['cidr']) });
const port = obj({ protocol: S, port: { t: 'intOrString' }, endPort: { t: 'int' } });
const meta = obj({
  name: S, namespace: S, labels: { t: 'stringMap' }, annotations: { t: 'stringMap' },
  generateName: S, uid: S, resourceVersion: S, generation: { t: 'int' }, creationTimestamp: S,
}, ['name']);
const NETWORK_POLICY = obj({
  apiVersion: S, kind: S, metadata: meta,
  spec: obj({ podSelector: selector, policyTypes: list(S), ingress: list(obj({ from: list(peer), ports: list(port) })), egress: list(obj({ to: list(peer), ports: list(port) })) }),
}, ['apiVersion', 'kind', 'metadata']);

const kind = (v: unknown) => (v === null || v === undefined ? 'nothing' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : typeof v === 'string' ? `the text ${JSON.stringify(v)}` : `${typeof v} ${String(v)}`);

function shape(v: unknown, f: Field, path: Seg[], out: Issue[]): void {
  if (v === null || v === undefined) return; // null is "unset" in the API
  switch (f.t) {
    case 'string': if (typeof v !== 'string') out.push({ path, message: `must be a string; got ${kind(v)}` }); return;
    case 'int': if (!Number.isInteger(v)) out.push({ path, message: `must be an integer; got ${kind(v)}` }); return;
    case 'intOrString': if (!Number.isInteger(v) && typeof v !== 'string') out.push({ path, message: `must be a port number or a port name; got ${kind(v)}` }); return;
    case 'stringMap':
      if (typeof v !== 'object' || Array.isArray(v)) { out.push({ path, message: `must be a mapping of strings; got ${kind(v)}` }); return; }
      for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') out.push({ path: [...path, k], message: `must be a string (quote it); got ${kind(x)}` });
      return;
    case 'list':
      if (!Array.isArray(v)) { out.push({ path, message: `must be a list; got ${kind(v)}` }); return; }
      v.forEach((x, i) => shape(x, f.of, [...path, i], out));
      return;
    case 'object': {
      if (typeof v !== 'object' || Array.isArray(v)) { out.push({ path, message: `must be a mapping; got ${kind(v)}` }); return; }
      const allowed = Object.keys(f.fields);
      for (const [k, x] of Object.entries(v)) {
        if (!Object.hasOwn(f.fields, k)) {
          const guess = closest(k, allowed);
          out.push({ path: [...path, k], at: 'key', message: `unknown field "${k}"${guess ? ` (did you mean "${guess}"?)` : ''}; allowed: ${allowed.join(', ')}` });
        } else shape(x, f.fields[k], [...path, k], out);
      }
      for (const r of f.required ?? []) if (!Object.hasOwn(v, r)) out.push({ path, message: `missing required field "${r}"` });
    }
  }
}

type R = Record<string, unknown>;
const asObj = (v: unknown): R | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as R) : undefined);
const asList = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function checkSelector(sel: unknown, path: Seg[], out: Issue[]): void {
  const s = asObj(sel);
  if (!s) return;
  for (const [k, v] of Object.entries(asObj(s.matchLabels) ?? {})) {
    const kp = labelKeyProblem(k);
    if (kp) out.push({ path: [...path, 'matchLabels', k], at: 'key', message: kp });
    const vp = typeof v === 'string' ? labelValueProblem(v) : undefined;
    if (vp) out.push({ path: [...path, 'matchLabels', k], message: vp });
  }
  asList(s.matchExpressions).forEach((e, i) => {
    const x = asObj(e);
    if (!x) return;
    const p = [...path, 'matchExpressions', i];
    if (typeof x.key === 'string') { const kp = labelKeyProblem(x.key); if (kp) out.push({ path: [...p, 'key'], message: kp }); }
    const op = x.operator;
    const values = asList(x.values);
    if (typeof op === 'string') {
      if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(op)) out.push({ path: [...p, 'operator'], message: `"${op}" is not a valid selector operator; allowed: In, NotIn, Exists, DoesNotExist` });
      else if ((op === 'In' || op === 'NotIn') && !values.length) out.push({ path: [...p, 'values'], message: `must be a non-empty list when operator is ${op}` });
      else if ((op === 'Exists' || op === 'DoesNotExist') && values.length) out.push({ path: [...p, 'values'], message: `must be empty when operator is ${op}` });
    }
    values.forEach((v, j) => { const vp = typeof v === 'string' ? labelValueProblem(v) : undefined; if (vp) out.push({ path: [...p, 'values', j], message: vp }); });
  });
}

function checkCidr(text: unknown, path: Seg[], out: Issue[]): Net | undefined {
  if (typeof text !== 'string') return undefined;
  const r = parseNet(text);
  if ('error' in r) { out.push({ path, message: r.error }); return undefined; }
  return r.net;
}

function checkRules(rules: unknown, peersKey: 'from' | 'to', path: Seg[], out: Issue[]): void {
  asList(rules).forEach((rule, i) => {
    const r = asObj(rule);
    if (!r) return;
    asList(r.ports).forEach((pt, j) => {
      const p = asObj(pt);
      if (!p) return;
      const pp = [...path, i, 'ports', j];
      if (typeof p.protocol === 'string' && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) out.push({ path: [...pp, 'protocol'], message: `"${p.protocol}" is not a supported protocol; allowed: TCP, UDP, SCTP` });
      if (Number.isInteger(p.port) && ((p.port as number) < 1 || (p.port as number) > 65535)) out.push({ path: [...pp, 'port'], message: `port ${p.port} is out of range: must be between 1 and 65535, inclusive` });
      if (typeof p.port === 'string') { const np = portNameProblem(p.port); if (np) out.push({ path: [...pp, 'port'], message: np }); }
      if (p.endPort !== undefined && Number.isInteger(p.endPort)) {
        if (!Number.isInteger(p.port)) out.push({ path: [...pp, 'endPort'], message: 'may only be set when port is a number' });
        else if ((p.endPort as number) < (p.port as number)) out.push({ path: [...pp, 'endPort'], message: `must be greater than or equal to port (${p.port})` });
        else if ((p.endPort as number) > 65535) out.push({ path: [...pp, 'endPort'], message: `port ${p.endPort} is out of range: must be between 1 and 65535, inclusive` });
      }
    });
    asList(r[peersKey]).forEach((pe, j) => {
      const p = asObj(pe);
      if (!p) return;
      const pp = [...path, i, peersKey, j];
      const set = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => p[k] !== undefined && p[k] !== null);
      if (!set.length) out.push({ path: pp, message: 'must specify a peer: podSelector, namespaceSelector and/or ipBlock' });
      if (p.ipBlock !== undefined && set.length > 1) out.push({ path: pp, message: 'ipBlock may not be combined with podSelector or namespaceSelector' });
      checkSelector(p.podSelector, [...pp, 'podSelector'], out);
      checkSelector(p.namespaceSelector, [...pp, 'namespaceSelector'], out);
      const b = asObj(p.ipBlock);
      if (b) {
        const cidr = checkCidr(b.cidr, [...pp, 'ipBlock', 'cidr'], out);
        asList(b.except).forEach((e, k) => {
          const ex = checkCidr(e, [...pp, 'ipBlock', 'except', k], out);
          if (cidr && ex && !(contains(cidr, ex.base) && ex.prefixLen > cidr.prefixLen)) out.push({ path: [...pp, 'ipBlock', 'except', k], message: `must be a strict subset of cidr ${cidr.text}` });
        });
      }
    });
  });
}

function checkPolicy(d: R, out: Issue[]): void {
  shape(d, NETWORK_POLICY, [], out);
  if (d.apiVersion !== undefined && d.apiVersion !== 'networking.k8s.io/v1') {
    out.push({ path: ['apiVersion'], message: `${JSON.stringify(d.apiVersion)}: lab policy takes networking.k8s.io/v1 NetworkPolicy documents (apiVersion: networking.k8s.io/v1)` });
  }
  if (d.kind !== undefined && d.kind !== 'NetworkPolicy') out.push({ path: ['kind'], message: `${JSON.stringify(d.kind)}: lab policy takes kind: NetworkPolicy only` });
  const m = asObj(d.metadata);
  if (m && typeof m.name === 'string') { const p = dnsSubdomainProblem(m.name); if (p) out.push({ path: ['metadata', 'name'], message: p }); }
  if (m && typeof m.namespace === 'string') { const p = dnsLabelProblem(m.namespace); if (p) out.push({ path: ['metadata', 'namespace'], message: p }); }
  const spec = asObj(d.spec);
  if (!spec) return;
  checkSelector(spec.podSelector, ['spec', 'podSelector'], out);
  const types = asList(spec.policyTypes);
  types.forEach((t, i) => {
    if (typeof t === 'string' && t !== 'Ingress' && t !== 'Egress') out.push({ path: ['spec', 'policyTypes', i], message: `"${t}" is not a policy type; allowed: Ingress, Egress` });
    if (types.indexOf(t) !== i) out.push({ path: ['spec', 'policyTypes', i], message: `"${String(t)}" is listed twice` });
  });
  checkRules(spec.ingress, 'from', ['spec', 'ingress'], out);
  checkRules(spec.egress, 'to', ['spec', 'egress'], out);
}

/** Line and column of the node at `path` in a document (or of its nearest ancestor). */
function locate(doc: Document, lines: LineCounter, path: Seg[], at?: 'key'): { line: number; col: number } {
  let node: unknown = doc.contents;
  let target: Node | undefined = node as Node;
  for (const seg of path) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
      if (pair) next = at === 'key' && seg === path[path.length - 1] ? pair.key : pair.value ?? pair.key;
    } else if (isSeq(node)) next = node.items[Number(seg)];
    if (!next) break;
    node = next;
    target = next as Node;
  }
  return lines.linePos(target?.range?.[0] ?? 0);
}

const formatPath = (path: Seg[]) => path.map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][\w-]*$/.test(s) ? (i ? '.' : '') + s : `[${JSON.stringify(s)}]`)).join('');

/**
 * Parse and validate; namespace defaults to "default" (like kubectl). Throws
 * LabFileError (exit 2) with every problem of every document.
 */
export function parsePolicies(source: string, file: string): NetworkPolicy[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(source, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems: Problem[] = [];
  const at = (line: number, col: number, path: string, message: string) => problems.push({ file, line, col, path, message });
  const policies: NetworkPolicy[] = [];
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) at(1, 1, '', 'not a YAML stream');
  for (const doc of list) {
    for (const e of [...doc.errors, ...doc.warnings]) { const p = lines.linePos(e.pos[0]); at(p.line, p.col, '', `YAML: ${e.message.split('\n')[0]}`); }
    if (doc.errors.length) continue;
    const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (data === null || data === undefined) continue; // an empty document (a trailing ---)
    const d = asObj(data);
    if (!d) { const p = locate(doc, lines, []); at(p.line, p.col, '', `a document must be a NetworkPolicy mapping; got ${kind(data)}`); continue; }
    const issues: Issue[] = [];
    checkPolicy(d, issues);
    for (const i of issues) { const p = locate(doc, lines, i.path, i.at); at(p.line, p.col, formatPath(i.path), i.message); }
    if (!issues.length) {
      const m = d.metadata as NetworkPolicy['metadata'];
      policies.push({ ...(d as unknown as NetworkPolicy), metadata: { ...m, namespace: m.namespace ?? 'default' }, spec: { podSelector: {}, ...(d.spec as object) } as NetworkPolicy['spec'] });
    }
  }
  if (!problems.length && !policies.length) at(1, 1, '', 'no NetworkPolicy in the file');
  const seen = new Set<string>();
  for (const p of policies) {
    const id = `${p.metadata.namespace}/${p.metadata.name}`;
    if (seen.has(id)) at(1, 1, '', `NetworkPolicy ${id} appears twice in the file`);
    seen.add(id);
  }
  if (problems.length) throw new LabFileError(problems.sort((a, b) => a.line - b.line || a.col - b.col));
  return policies;
}
