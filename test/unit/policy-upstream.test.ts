// The engine against the upstream Kubernetes NetworkPolicy e2e cases
// (test/e2e/network/netpol/network_policy.go): the same 3 namespaces x 3 pods (x, y, z;
// a, b, c; ports 80 and 81), the same policies, the same expected truth tables built the
// way the upstream Reachability helper builds them. Loopback is ignored, as upstream.
import test from 'ava';
import { loadLab } from '../../src/lab/load.js';
import { plan as makePlan } from '../../src/plan/index.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { evaluate } from '../../src/policy/engine.js';
import { clusterOf, endpointOf } from '../../src/policy/felix.js';
import type { Traffic } from '../../src/policy/types.js';
import type { Pod } from '../../src/plan/types.js';

const plan = makePlan(await loadLab('netpol'));
const cluster = clusterOf(plan);
const short = (p: Pod) => `${p.namespace}/${p.labels.pod}`;
const pods = plan.pods.map(short);

/** Upstream's Reachability: a default for every pair, then Expect* calls. */
class Reachability {
  m = new Map<string, boolean>();
  constructor(def: boolean) { for (const a of pods) for (const b of pods) this.m.set(`${a} ${b}`, def); }
  private match = (p: string, peer: { ns?: string; pod?: string }) => (!peer.ns || p.startsWith(`${peer.ns}/`)) && (!peer.pod || p.endsWith(`/${peer.pod}`));
  expectPeer(from: { ns?: string; pod?: string }, to: { ns?: string; pod?: string }, v: boolean) {
    for (const a of pods) for (const b of pods) if (this.match(a, from) && this.match(b, to)) this.m.set(`${a} ${b}`, v);
    return this;
  }
  expect(a: string, b: string, v: boolean) { this.m.set(`${a} ${b}`, v); return this; }
  expectAllIngress(b: string, v: boolean) { for (const a of pods) this.m.set(`${a} ${b}`, v); return this; }
  expectAllEgress(a: string, v: boolean) { for (const b of pods) this.m.set(`${a} ${b}`, v); return this; }
}

function check(t: import('ava').ExecutionContext, yaml: string, want: Reachability, traffic: Traffic = { protocol: 'TCP', port: 80 }) {
  const policies = parsePolicies(yaml, 'case.yaml');
  const wrong: string[] = [];
  for (const a of plan.pods) for (const b of plan.pods) {
    if (a === b) continue;
    const key = `${short(a)} ${short(b)}`;
    const got = evaluate(policies, cluster, endpointOf(a), endpointOf(b), traffic).allowed;
    if (got !== want.m.get(key)) wrong.push(`${key}: expected ${want.m.get(key) ? '.' : 'X'}, engine says ${got ? '.' : 'X'}`);
  }
  t.deepEqual(wrong, []);
}

const np = (ns: string, name: string, spec: string) => `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ${name}, namespace: ${ns} }
spec:
${spec.replace(/^/gm, '  ')}
---
`;

test("should support a 'default-deny-ingress' policy", (t) => {
  check(t, np('x', 'deny-ingress', 'podSelector: {}\npolicyTypes: [Ingress]'), new Reachability(true).expectPeer({}, { ns: 'x' }, false));
});

test("should support a 'default-deny-all' policy", (t) => {
  check(t, np('x', 'deny-all', 'podSelector: {}\npolicyTypes: [Ingress, Egress]'),
    new Reachability(true).expectPeer({}, { ns: 'x' }, false).expectPeer({ ns: 'x' }, {}, false));
});

test('should enforce policy to allow traffic from pods within server namespace based on PodSelector', (t) => {
  check(t, np('x', 'x-a-allows-x-b', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ podSelector: { matchLabels: { pod: b } } }] }]'),
    new Reachability(true).expectAllIngress('x/a', false).expect('x/b', 'x/a', true));
});

test('should enforce policy to allow ingress traffic for a target', (t) => {
  check(t, np('x', 'deny-all', 'podSelector: {}\npolicyTypes: [Ingress]')
    + np('x', 'allow-all-to-a', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ podSelector: {}, namespaceSelector: {} }] }]'),
  new Reachability(true).expectAllIngress('x/a', true).expectAllIngress('x/b', false).expectAllIngress('x/c', false));
});

test('should enforce policy to allow ingress traffic from pods in all namespaces', (t) => {
  check(t, np('x', 'allow-from-another-ns', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchLabels: {} } }] }]'), new Reachability(true));
});

test('should enforce policy to allow traffic only from a different namespace, based on NamespaceSelector', (t) => {
  check(t, np('x', 'allow-client-a-via-ns-selector', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: y } } }] }]'),
    new Reachability(true).expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false));
});

test('should enforce policy based on PodSelector with MatchExpressions', (t) => {
  check(t, np('x', 'x-a-allows-x-b', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ podSelector: { matchExpressions: [{ key: pod, operator: In, values: [b] }] } }] }]'),
    new Reachability(true).expectAllIngress('x/a', false).expect('x/b', 'x/a', true));
});

test('should enforce policy based on NamespaceSelector with MatchExpressions', (t) => {
  check(t, np('x', 'allow-ns-y-match-selector', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: kubernetes.io/metadata.name, operator: In, values: [y] }] } }] }]'),
    new Reachability(true).expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false));
});

test('should enforce policy based on PodSelector or NamespaceSelector', (t) => {
  check(t, np('x', 'allow-ns-y-match-selector', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: kubernetes.io/metadata.name, operator: NotIn, values: [x] }] } }, { podSelector: { matchLabels: { pod: b } } }] }]'),
    new Reachability(true).expect('x/a', 'x/a', false).expect('x/c', 'x/a', false));
});

test('should enforce policy based on PodSelector and NamespaceSelector', (t) => {
  check(t, np('x', 'allow-ns-y-podselector-and-nsselector', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: kubernetes.io/metadata.name, operator: NotIn, values: [x] }] }, podSelector: { matchLabels: { pod: b } } }] }]'),
    new Reachability(true).expectAllIngress('x/a', false).expect('y/b', 'x/a', true).expect('z/b', 'x/a', true));
});

test('should enforce policy based on Multiple PodSelectors and NamespaceSelectors', (t) => {
  check(t, np('x', 'allow-ns-y-z-pod-b-c', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: kubernetes.io/metadata.name, operator: NotIn, values: [x] }] }, podSelector: { matchExpressions: [{ key: pod, operator: In, values: [b, c] }] } }] }]'),
    new Reachability(true).expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expect('y/a', 'x/a', false).expect('z/a', 'x/a', false));
});

test('should enforce policy based on any PodSelectors', (t) => {
  check(t, np('x', 'allow-ns-x-pod-b-c', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ podSelector: { matchLabels: { pod: b } } }, { podSelector: { matchLabels: { pod: c } } }] }]'),
    new Reachability(true).expectAllIngress('x/a', false).expect('x/b', 'x/a', true).expect('x/c', 'x/a', true));
});

test('should enforce policy to allow traffic only from a pod in a different namespace based on PodSelector and NamespaceSelector', (t) => {
  check(t, np('x', 'allow-ns-y-pod-a-via-namespace-pod-selector', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: y } }, podSelector: { matchLabels: { pod: a } } }] }]'),
    new Reachability(true).expectAllIngress('x/a', false).expect('y/a', 'x/a', true));
});

test('should enforce policy based on Ports', (t) => {
  const spec = 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: y } } }], ports: [{ port: 81 }] }]';
  check(t, np('x', 'allow-ingress-on-port-81-ns-x', spec), new Reachability(true).expectAllIngress('x/a', false), { protocol: 'TCP', port: 80 });
  check(t, np('x', 'allow-ingress-on-port-81-ns-x', spec),
    new Reachability(true).expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false), { protocol: 'TCP', port: 81 });
});

test('should enforce multiple, stacked policies with overlapping podSelectors', (t) => {
  const p81 = np('x', 'allow-ingress-on-port-81-ns-x', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: y } } }], ports: [{ port: 81 }] }]');
  const p80 = np('x', 'allow-ingress-on-port-80-ns-x', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: y } } }], ports: [{ port: 80 }] }]');
  const r = () => new Reachability(true).expectPeer({ ns: 'x' }, { ns: 'x', pod: 'a' }, false).expectPeer({ ns: 'z' }, { ns: 'x', pod: 'a' }, false);
  check(t, p81 + p80, r(), { protocol: 'TCP', port: 80 });
  check(t, p81 + p80, r(), { protocol: 'TCP', port: 81 });
});

test('should support allow-all policy', (t) => {
  check(t, np('x', 'allow-all', 'podSelector: {}\npolicyTypes: [Ingress]\ningress: [{}]'), new Reachability(true));
});

test('should allow ingress access on one named port', (t) => {
  const spec = 'podSelector: {}\npolicyTypes: [Ingress]\ningress: [{ ports: [{ port: serve-81-tcp }] }]';
  check(t, np('x', 'allow-all', spec), new Reachability(true), { protocol: 'TCP', port: 81 });
  check(t, np('x', 'allow-all', spec), new Reachability(true).expectPeer({}, { ns: 'x' }, false), { protocol: 'TCP', port: 80 });
});

test('should allow ingress access from namespace on one named port', (t) => {
  const spec = 'podSelector: {}\npolicyTypes: [Ingress]\ningress: [{ from: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: y } } }], ports: [{ port: serve-80-tcp }] }]';
  check(t, np('x', 'allow-client-in-ns-y-on-port-80', spec),
    new Reachability(true).expectPeer({ ns: 'x' }, { ns: 'x' }, false).expectPeer({ ns: 'z' }, { ns: 'x' }, false), { protocol: 'TCP', port: 80 });
  check(t, np('x', 'allow-client-in-ns-y-on-port-80', spec), new Reachability(true).expectPeer({}, { ns: 'x' }, false), { protocol: 'TCP', port: 81 });
});

test('should allow egress access on one named port', (t) => {
  const spec = 'podSelector: {}\npolicyTypes: [Egress]\negress: [{ ports: [{ port: serve-80-tcp }] }]';
  check(t, np('x', 'allow-egress', spec), new Reachability(true), { protocol: 'TCP', port: 80 });
  check(t, np('x', 'allow-egress', spec), new Reachability(true).expectPeer({ ns: 'x' }, {}, false), { protocol: 'TCP', port: 81 });
});

test('should enforce egress policy allowing traffic to a server in a different namespace based on PodSelector and NamespaceSelector', (t) => {
  check(t, np('x', 'allow-to-ns-y-pod-a', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Egress]\negress: [{ to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: y } }, podSelector: { matchLabels: { pod: a } } }] }]'),
    new Reachability(true).expectAllEgress('x/a', false).expect('x/a', 'y/a', true));
});

test('should enforce ingress policy allowing any port traffic to a server on a specific protocol', (t) => {
  check(t, np('x', 'allow-ingress-by-proto', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ ports: [{ protocol: TCP }] }]'), new Reachability(true));
  check(t, np('x', 'allow-ingress-by-proto', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Ingress]\ningress: [{ ports: [{ protocol: TCP }] }]'),
    new Reachability(true).expectAllIngress('x/a', false), { protocol: 'UDP', port: 80 });
});

test('should enforce egress policy allowing traffic to a port range (endPort)', (t) => {
  const spec = 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Egress]\negress: [{ ports: [{ port: 80, endPort: 81 }] }]';
  check(t, np('x', 'allow-egress-range', spec), new Reachability(true), { protocol: 'TCP', port: 81 });
  check(t, np('x', 'allow-egress-range', spec), new Reachability(true).expectAllEgress('x/a', false), { protocol: 'TCP', port: 82 });
});

test('should enforce except clause while egress access to server in CIDR block', (t) => {
  const ip = (s: string) => plan.pods.find((p) => short(p) === s)!.ip;
  const spec = `podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Egress]\negress: [{ to: [{ ipBlock: { cidr: 10.64.0.0/12, except: [${ip('x/b')}/32] } }] }]`;
  check(t, np('x', 'deny-client-a-via-except-cidr-egress-rule', spec), new Reachability(true).expect('x/a', 'x/b', false));
});

test('should enforce policies to check ingress and egress policies can be controlled independently', (t) => {
  check(t, np('x', 'allow-egress-to-b', 'podSelector: { matchLabels: { pod: a } }\npolicyTypes: [Egress]\negress: [{ to: [{ podSelector: { matchLabels: { pod: b } } }] }]')
    + np('x', 'deny-ingress-to-b', 'podSelector: { matchLabels: { pod: b } }\npolicyTypes: [Ingress]'),
  new Reachability(true).expectAllEgress('x/a', false).expectAllIngress('x/b', false));
});

test('ICMP (verify\'s pings) passes only rules without ports', (t) => {
  check(t, np('x', 'web-only', 'podSelector: {}\npolicyTypes: [Ingress]\ningress: [{ ports: [{ port: 80 }] }]'), new Reachability(true).expectPeer({}, { ns: 'x' }, false), { protocol: 'ICMP' });
  check(t, np('x', 'all', 'podSelector: {}\npolicyTypes: [Ingress]\ningress: [{}]'), new Reachability(true), { protocol: 'ICMP' });
});
