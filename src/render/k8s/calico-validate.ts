// Validates Calico v3 documents against `spec.versions[].schema.openAPIV3Schema` of the
// vendored CRDs (./crds) with ajv, adding what ajv does not know about Kubernetes
// structural schemas:
// - objects with `properties` are closed (additionalProperties: false): the API server
//   would prune an unknown field and calicoctl rejects it, so a typo must fail here;
// - metadata gets a real ObjectMeta schema (name, labels), apiVersion/kind are pinned;
// - `(?i)` Go-regexp prefixes become the JS `i` flag; formats cidr/int32/int64/date-time;
// - x-kubernetes-validations (CEL) run via the hand-written rules in cel-rules.ts, and an
//   unknown rule is a compile error; x-kubernetes-list-type set/map means unique items.
// The Node kind has no CRD; it uses calico-node-schema.ts.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import ipaddr from 'ipaddr.js';
import { parse } from 'yaml';
import { repoRoot } from '../../paths.js';
import { CEL_RULES, TRANSITION_RULES } from './cel-rules.js';
import { calicoNodeSchema } from './calico-node-schema.js';
import { CALICO_API_VERSION } from './calico-objects.js';

export const vendoredCrdDir = path.join(repoRoot, 'src', 'render', 'k8s', 'crds');

const DNS_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const LABEL_NAME = '([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]';
const objectMetaSchema = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253, pattern: DNS_SUBDOMAIN },
    labels: {
      type: 'object',
      propertyNames: { pattern: `^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?${LABEL_NAME}$` },
      additionalProperties: { type: 'string', maxLength: 63, pattern: `^(${LABEL_NAME})?$` },
    },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

/** Go/RE2 patterns in the CRDs use `^(?i)...` for a whole-pattern flag; JavaScript wants a real flag. */
function goRegExp(pattern: string, u: string) {
  const m = /^(\^?)\(\?i\)(.*)$/s.exec(pattern);
  return m ? new RegExp(m[1] + m[2], `${u}i`) : new RegExp(pattern, u);
}
goRegExp.code = 'goRegExp';

const dottedQuad = (s: string) => /^\d{1,3}(\.\d{1,3}){3}$/.test(s) && ipaddr.IPv4.isValidFourPartDecimal(s);
const v6 = (s: string) => s.includes(':') && ipaddr.IPv6.isValid(s);
function withPrefix(s: string, family: 4 | 6): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s);
  if (!m) return false;
  const bits = Number(m[2]);
  return family === 4 ? dottedQuad(m[1]) && bits <= 32 : v6(m[1]) && bits <= 128;
}

const FORMATS = {
  cidr: (s: string) => withPrefix(s, 4) || withPrefix(s, 6),
  ipv4: dottedQuad,
  'ipv4-interface': (s: string) => withPrefix(s, 4),
  'ipv6-interface': (s: string) => withPrefix(s, 6),
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
  int32: { type: 'number' as const, validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  int64: { type: 'number' as const, validate: (n: number) => Number.isSafeInteger(n) },
};

interface Rule { rule: string; message: string }
type Validate = ((data: unknown) => boolean) & { errors?: Partial<ErrorObject>[] };

function addKubernetesKeywords(ajv: Ajv): void {
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    schemaType: 'array',
    errors: true,
    compile(rules: Rule[]) {
      const checks = rules.filter((r) => !TRANSITION_RULES.has(r.rule)).map((r) => {
        const fn = CEL_RULES[r.rule];
        if (!fn) throw new Error(`CEL rule not implemented in cel-rules.ts: ${r.rule}`);
        return { ...r, fn };
      });
      const validate: Validate = (data) => {
        const failed = checks.filter((c) => { try { return !c.fn(data); } catch { return true; } });
        validate.errors = failed.map((c) => ({ keyword: 'x-kubernetes-validations', message: c.message, params: { rule: c.rule } }));
        return failed.length === 0;
      };
      return validate;
    },
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-list-type',
    schemaType: 'string',
    errors: true,
    compile(listType: string, parent: AnySchemaObject) {
      const keys: string[] = parent['x-kubernetes-list-map-keys'] ?? [];
      const key = (x: unknown) => (listType === 'map' && x && typeof x === 'object' ? JSON.stringify(keys.map((k) => (x as Record<string, unknown>)[k])) : JSON.stringify(x));
      const validate: Validate = (data) => {
        if (listType === 'atomic' || !Array.isArray(data)) return true;
        const ok = new Set(data.map(key)).size === data.length;
        validate.errors = ok ? [] : [{ keyword: 'x-kubernetes-list-type', message: `must have unique items (list-type ${listType})` }];
        return ok;
      };
      return validate;
    },
  });
  ajv.addKeyword({
    keyword: 'x-kubernetes-int-or-string',
    schemaType: 'boolean',
    errors: true,
    compile(on: boolean) {
      const validate: Validate = (data) => {
        const ok = !on || typeof data === 'string' || Number.isInteger(data);
        validate.errors = ok ? [] : [{ keyword: 'x-kubernetes-int-or-string', message: 'must be an integer or a string' }];
        return ok;
      };
      return validate;
    },
  });
  // Annotations for server-side apply and pruning: nothing to check on a single document.
  for (const keyword of ['x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-embedded-resource']) ajv.addKeyword({ keyword });
}

/** Deep copy with every object that lists `properties` closed (structural-schema pruning made strict). */
function closeObjects(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(closeObjects);
  if (!s || typeof s !== 'object') return s;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    out[k] = k === 'properties'
      ? Object.fromEntries(Object.entries(v as object).map(([p, ps]) => [p, closeObjects(ps)]))
      : k === 'x-kubernetes-validations' || k === 'enum' || k === 'required' || k === 'default' ? v : closeObjects(v);
  }
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

function documentSchema(openApi: AnySchemaObject, apiVersion: string, kind: string): AnySchemaObject {
  const closed = closeObjects(openApi) as AnySchemaObject;
  closed.properties = {
    ...closed.properties,
    apiVersion: { type: 'string', const: apiVersion },
    kind: { type: 'string', const: kind },
    metadata: objectMetaSchema,
  };
  closed.required = [...new Set(['apiVersion', 'kind', ...(closed.required ?? [])])];
  return closed;
}

export interface CalicoValidator {
  kinds: string[];
  /** Problems of one document, each `Kind name: /json/pointer message`; empty when valid. */
  validate(doc: unknown): string[];
}

/** Loads every CRD in crdDir (projectcalico.org/v3) plus the Node schema. */
export function loadCalicoValidator(crdDir: string = vendoredCrdDir): CalicoValidator {
  const ajv = new Ajv({ allErrors: true, strictSchema: true, strictTypes: false, strictTuples: false, strictRequired: false, code: { regExp: goRegExp } });
  for (const [name, f] of Object.entries(FORMATS)) ajv.addFormat(name, f);
  addKubernetesKeywords(ajv);
  const byKind = new Map<string, ValidateFunction>();
  for (const file of readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort()) {
    const crd = parse(readFileSync(path.join(crdDir, file), 'utf8'));
    const kind: string = crd.spec.names.kind;
    for (const version of crd.spec.versions) {
      const apiVersion = `${crd.spec.group}/${version.name}`;
      if (apiVersion !== CALICO_API_VERSION) continue;
      byKind.set(kind, ajv.compile(documentSchema(version.schema.openAPIV3Schema, apiVersion, kind)));
    }
  }
  byKind.set('Node', ajv.compile(documentSchema(calicoNodeSchema as unknown as AnySchemaObject, CALICO_API_VERSION, 'Node')));
  return {
    kinds: [...byKind.keys()].sort(),
    validate(doc: unknown): string[] {
      const d = (doc ?? {}) as { kind?: unknown; metadata?: { name?: unknown } };
      const label = `${String(d.kind)} ${String(d.metadata?.name ?? '(no name)')}`;
      const check = typeof d.kind === 'string' ? byKind.get(d.kind) : undefined;
      if (!check) return [`${label}: no schema for kind ${String(d.kind)} in ${CALICO_API_VERSION}`];
      if (check(doc)) return [];
      return (check.errors ?? []).map((e) => {
        const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
        return `${label}: ${e.instancePath || '/'} ${e.message ?? e.keyword}${extra}`;
      });
    },
  };
}
