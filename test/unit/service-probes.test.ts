// Which pod verify asks a Service from: one the policies let through to every endpoint,
// preferably not an endpoint itself (src/policy/verify.ts serviceProbes), and how many
// tries it makes.
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { judgeService, nextServiceRound, serviceProbes, serviceTriesBound, SERVICE_TRIES, type ServiceRound } from '../../src/policy/verify.js';
import { PROBE_TIMEOUT_S, type ProbeResult } from '../../src/policy/probe.js';
import { repoRoot as root } from '../../src/paths.js';

const lab = async (workloads: string) => {
  const text = (await readFile(path.join(root, 'labs/calico-bgp.yaml'), 'utf8')).replace(/^workloads:\n(  - .*\n)+/m, `workloads:\n${workloads}`);
  return planOf(parseLab(text, 'calico-bgp.yaml'));
};
const policies = async (name: string) => parsePolicies(await readFile(path.join(root, 'labs/policies', name), 'utf8'), name);

test('a client outside the Service when there is one, else one of its pods; none when no pod may reach every endpoint', async (t) => {
  const two = await lab('  - { name: nginx, namespace: space1, replicas: 4 }\n  - { name: client, namespace: space1, replicas: 1 }\n');
  const probes = serviceProbes(two, []);
  const nginx = probes.find((p) => p.service === 'space1/nginx')!;
  t.is(two.pods.find((p) => p.name === nginx.client)!.workload, 'client');
  const one = await lab('  - { name: nginx, namespace: space1, replicas: 4 }\n');
  const [only] = serviceProbes(one, []);
  t.is(only.client, one.pods[0].name, 'the first pod, itself an endpoint');
  t.deepEqual(serviceProbes(one, await policies('default-deny-ingress.yaml')), [], 'ingress denied: no pod reaches the others');
  t.is(serviceProbes(one, await policies('allow-all-ingress.yaml'))[0].client, one.pods[0].name);
});

// How many tries a Service check makes (src/policy/verify.ts nextServiceRound): kube-proxy
// picks an endpoint per connection at random, so a healthy Service answers from one node
// only by chance; eight tries did that once in 128 with 4 endpoints on 2 nodes.
const ok = (pod: string): ProbeResult => ({ ok: true, answer: `${pod} 10.244.1.2` });
const timeout: ProbeResult = { ok: false, error: 'timeout' };
const nodes = ['n1', 'n1', 'n2', 'n2'];
const nodeOf = new Map([['a', 'n1'], ['b', 'n1'], ['c', 'n2'], ['d', 'n2']]);

test('Service tries: enough that a healthy Service misses a node with odds below 1e-9, never fewer than 8', (t) => {
  t.is(serviceTriesBound(['n1', 'n1', 'n1']), SERVICE_TRIES, 'one node: nothing to miss');
  const bound = serviceTriesBound(nodes);
  t.true(2 * 0.5 ** bound <= 1e-9 && 2 * 0.5 ** (bound - 1) > 1e-9, `2/2 endpoints: ${bound}`);
  const lopsided = serviceTriesBound(['n1', 'n1', 'n1', 'n2']);
  t.true(0.75 ** lopsided + 0.25 ** lopsided <= 1e-9, `3/1 endpoints: ${lopsided}`);
  t.is(serviceTriesBound([...Array(999).fill('n1'), 'n2']), 512, 'capped');
});

const fast = (results: ProbeResult[]): ServiceRound => ({ timeoutS: PROBE_TIMEOUT_S, results });
const slow = (results: ProbeResult[]): ServiceRound => ({ timeoutS: 3 * PROBE_TIMEOUT_S, results });

test('Service rounds: 8 tries; unanswered ones again with 3x the time; more while one node answered; then judge', (t) => {
  t.deepEqual(nextServiceRound(nodes, nodeOf, []), { tries: SERVICE_TRIES, timeoutS: PROBE_TIMEOUT_S });
  const twoNodes = [...Array(7).fill(ok('a')), ok('c')];
  t.is(nextServiceRound(nodes, nodeOf, [fast(twoNodes)]), undefined, 'both nodes answered: judged at once');
  const oneNode = [...Array(4).fill(ok('a')), ...Array(4).fill(ok('b'))];
  t.deepEqual(nextServiceRound(nodes, nodeOf, [fast(oneNode)]), { tries: Math.min(32, serviceTriesBound(nodes)), timeoutS: PROBE_TIMEOUT_S }, 'one node only: ask more, up to the bound');
  const missed = fast([...oneNode.slice(1), timeout]);
  t.deepEqual(nextServiceRound(nodes, nodeOf, [missed]), { tries: SERVICE_TRIES, timeoutS: 3 * PROBE_TIMEOUT_S }, 'unanswered: again, slowly');
  t.deepEqual(nextServiceRound(nodes, nodeOf, [missed, slow(oneNode)]), { tries: Math.min(32, serviceTriesBound(nodes) - 8), timeoutS: PROBE_TIMEOUT_S }, 'answered slowly: coverage goes on');
  t.is(nextServiceRound(nodes, nodeOf, [missed, slow([...oneNode.slice(1), timeout])]), undefined, 'unanswered slowly too: judged (failed)');
  const all = Array(8).fill(timeout);
  t.is(nextServiceRound(nodes, nodeOf, [fast(all), slow(all)]), undefined, 'no answer with more time either: judged (failed)');
  t.is(nextServiceRound(nodes, nodeOf, [fast(Array(8).fill({ ok: false, error: 'could not probe: exit code 1' }))]), undefined, 'unobservable: judged (unknown)');
  // A Service whose node-2 endpoints never answer: asked up to the bound, then failed.
  const rounds: ServiceRound[] = [];
  for (let r = nextServiceRound(nodes, nodeOf, rounds); r; r = nextServiceRound(nodes, nodeOf, rounds)) rounds.push({ timeoutS: r.timeoutS, results: Array(r.tries).fill(ok('a')) });
  t.is(rounds.flatMap((r) => r.results).length, serviceTriesBound(nodes) + SERVICE_TRIES);
});

test('Service rounds on a healthy Service: judged green in 100,000 random trials (8 tries alone failed ~800)', (t) => {
  const pods = ['a', 'b', 'c', 'd'];
  let rnd = 12345;
  const random = () => { rnd = (rnd * 1103515245 + 12345) % 2 ** 31; return rnd / 2 ** 31; };
  let eightOnly = 0;
  let failed = 0;
  for (let trial = 0; trial < 100_000; trial++) {
    const rounds: ServiceRound[] = [];
    for (let r = nextServiceRound(nodes, nodeOf, rounds); r; r = nextServiceRound(nodes, nodeOf, rounds)) {
      rounds.push({ timeoutS: r.timeoutS, results: Array.from({ length: r.tries }, () => ok(pods[Math.floor(random() * 4)])) });
    }
    const results = rounds.flatMap((r) => r.results);
    const seen = (rs: ProbeResult[]) => new Set(rs.map((x) => nodeOf.get((x as { answer: string }).answer.split(' ')[0]))).size;
    if (seen(results.slice(0, 8)) < 2) eightOnly++;
    if (seen(results) < 2) failed++;
  }
  t.is(failed, 0);
  t.true(eightOnly > 400 && eightOnly < 1200, `8 tries alone: ${eightOnly}`);
});

test('Service judged: misses with the short timeout alone pass (load); misses with the long one fail, saying so; a second look that could not run is unknown', async (t) => {
  const p = await lab('  - { name: nginx, namespace: space1, replicas: 4 }\n  - { name: client, namespace: space1, replicas: 1 }\n');
  const probe = serviceProbes(p, []).find((x) => x.service === 'space1/nginx')!;
  const s = p.services.find((x) => x.name === 'nginx')!;
  const byNode = new Map<string, string>();
  for (const e of s.endpoints) if (!byNode.has(e.node)) byNode.set(e.node, e.pod);
  const [e1, e2] = [...byNode.values()];
  const answers = [...Array(4).fill(ok(e1)), ...Array(4).fill(ok(e2))];
  const judge = (rounds: ServiceRound[]) => judgeService(p, { ...probe, rounds }, 'service', 'hint');
  t.like(judge([fast(answers)]), { ok: true });
  t.like(judge([fast([...answers.slice(1), timeout]), slow(answers)]), { ok: true, observed: `15/16 answered, by ${e1} x7, ${e2} x8 (2 nodes)` });
  const bad = judge([fast([...answers.slice(1), timeout]), slow([...answers.slice(2), timeout, timeout])]);
  t.like(bad, { ok: false, hint: 'hint' });
  t.regex(bad.observed, /; 2 of 8 unanswered with 3 s each \(timeout\): not every endpoint answers through the Service$/);
  t.not(bad.status, 'unknown');
  const unseen = judge([fast([...answers.slice(1), timeout]), slow(Array(8).fill({ ok: false, error: 'could not probe: exit code -1' }))]);
  t.like(unseen, { ok: false, status: 'unknown' });
  t.regex(unseen.observed, /the second look at the unanswered requests could not run: could not probe: exit code -1$/);
});

test('service-route: judged on the kernel tables verify already read (no exec of its own); unreadable is unknown', async (t) => {
  const { serviceRouteChecks } = await import('../../src/policy/verify.js');
  const { emptyObservations } = await import('../../src/verify/checks/observations.js');
  const p = await lab('  - { name: nginx, namespace: space1, replicas: 4 }\n');
  const cidr = p.cluster!.serviceSubnet;
  const obs = emptyObservations();
  const [leaf1, leaf2, spine] = ['leaf1', 'leaf2', 'spine-sw1'];
  const peer = { ok: true as const, value: [] };
  obs.switches.set(leaf1, { bgp: peer, kernel: { ok: true, value: [{ prefix: cidr, type: 'unicast', nextHops: [{ gateway: '10.0.101.101' }, { gateway: '10.0.101.102' }] }] } });
  obs.switches.set(leaf2, { bgp: peer, kernel: { ok: true, value: [{ prefix: '10.0.101.0/24', type: 'unicast', nextHops: [{ gateway: '172.16.0.2' }] }] } });
  obs.switches.set(spine, { bgp: peer, kernel: { ok: false, error: 'timed out after 15000 ms', unknown: true } });
  const checks = serviceRouteChecks(p, obs);
  t.deepEqual(checks.map((c) => c.subject), p.switches.filter((s) => s.bgp).map((s) => `${s.name} ${cidr}`), 'every BGP switch, in plan order');
  const of = (sw: string) => checks.find((c) => c.subject === `${sw} ${cidr}`)!;
  t.like(of(leaf1), { ok: true, observed: 'present, 2 next hops' });
  t.like(of(leaf2), { ok: false, observed: 'absent' });
  t.like(of(spine), { ok: false, status: 'unknown', observed: 'cannot read the routes: timed out after 15000 ms' });
  t.like(of('spine-sw2'), { ok: false, status: 'unknown', observed: 'cannot read the routes: not observed' });
  t.deepEqual(serviceRouteChecks({ ...p, networking: 'vxlan' }, obs), [], 'BGP mode only');
});
