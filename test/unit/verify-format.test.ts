// The report: its JSON shape (a public contract) and the readable table.
import test from 'ava';
import { makeReport, unknownCheck, type Check } from '../../src/verify/types.js';
import { reportExit } from '../../src/cli/commands/lifecycle.js';
import { formatReport } from '../../src/verify/format.js';

const checks: Check[] = [
  { kind: 'ping', subject: 'a -> b (10.64.0.129)', ok: true, expected: 'reply', observed: '2/2 replies' },
  {
    kind: 'bgp-session', subject: 'leaf1 -> spine-sw1 (172.16.0.0)', ok: false, expected: 'Established', observed: 'Active',
    hint: "check `lab exec calico-vxlan leaf1 -- vtysh -c 'show bgp summary'` and the link leaf1 swp1 <-> spine-sw1 swp1",
  },
  { kind: 'bgp-session', subject: 'leaf1 -> spine-sw2 (172.16.0.4)', ok: true, expected: 'Established', observed: 'Established' },
  // Built in another order: the report puts the fields in the documented one.
  { subject: 'leaf1 10.0.102.0/24', kind: 'route', expected: 'present, 2 next hops', observed: 'present, 2 next hops', ok: true },
];

const unknownOne = unknownCheck({ kind: 'route', subject: 'leaf2 10.0.101.0/24', expected: 'present, 2 next hops' },
  'could not observe (`ip -j route show`: timeout after 5000 ms; host load 9.1 on 2 CPUs)');

test('unknown: not ok, counted apart; the verdict says what could not be seen; exit 5 without failures', (t) => {
  const r = makeReport('calico-vxlan', [...checks.filter((c) => c.ok), unknownOne], { pairs: 40, of: 4032 });
  t.false(r.ok);
  t.deepEqual(r.summary, { passed: 3, failed: 0, unknown: 1 });
  t.is(reportExit(r), 5);
  t.is(reportExit(makeReport('x', checks)), 1);
  t.is(reportExit(makeReport('x', checks.filter((c) => c.ok))), 0);
  const text = formatReport(r, { color: false });
  t.true(text.includes('? leaf2 10.0.101.0/24  expected present, 2 next hops, unknown: could not observe (`ip -j route show`: timeout after 5000 ms; host load 9.1 on 2 CPUs)'));
  t.true(text.includes('Routes (route)  1 of 2 unknown'));
  t.is(text.split('\n').pop(), '? 1 of 4 checks could not be observed (unknown), the other 3 passed (pod pairs: 40 of 4032 probed; --full for all)');
  const compact = formatReport(r, { color: false, compact: true });
  t.true(compact.includes('? Routes (route)  1 of 2 unknown'));
});

test('report: summary counts, ok only without failures, checks ordered by kind', (t) => {
  const r = makeReport('calico-vxlan', checks);
  t.deepEqual(r.summary, { passed: 3, failed: 1, unknown: 0 });
  t.false(r.ok);
  t.deepEqual(r.checks.map((c) => c.kind), ['bgp-session', 'bgp-session', 'route', 'ping']);
  t.is(r.checks[0].subject, 'leaf1 -> spine-sw1 (172.16.0.0)', 'order within a kind is kept');
  t.true(makeReport('x', checks.filter((c) => c.ok)).ok);
});

test('report JSON: exactly the documented fields (DESIGN section 6)', (t) => {
  const json = JSON.parse(JSON.stringify(makeReport('calico-vxlan', [...checks, unknownOne], { pairs: 12, of: 12 })));
  t.deepEqual(Object.keys(json), ['lab', 'ok', 'summary', 'sample', 'checks']);
  t.deepEqual(json.summary, { passed: 3, failed: 1, unknown: 1 });
  t.deepEqual(json.sample, { pairs: 12, of: 12 });
  for (const c of json.checks) {
    t.deepEqual(Object.keys(c).slice(0, 6), ['kind', 'subject', 'ok', 'status', 'expected', 'observed']);
    t.true(Object.keys(c).every((k) => ['kind', 'subject', 'ok', 'status', 'expected', 'observed', 'hint'].includes(k)));
    t.is(c.ok, c.status === 'pass');
  }
  t.deepEqual(json.checks.map((c: Check) => c.status), ['fail', 'pass', 'pass', 'unknown', 'pass']);
});

test('table: grouped by kind, failure says expected, observed and where to look; verdict line', (t) => {
  const text = formatReport(makeReport('calico-vxlan', checks), { color: false });
  const lines = text.split('\n');
  t.true(lines[0].startsWith('BGP sessions (bgp-session)'));
  t.true(text.includes('1 of 2 failed'));
  t.true(text.includes('✘ leaf1 -> spine-sw1 (172.16.0.0)  expected Established, observed Active'));
  t.true(text.includes("→ check `lab exec calico-vxlan leaf1 -- vtysh -c 'show bgp summary'` and the link leaf1 swp1 <-> spine-sw1 swp1"));
  t.true(text.includes('✔ leaf1 -> spine-sw2 (172.16.0.4)  Established'));
  t.true(text.indexOf('Routes (route)') < text.indexOf('Pod to pod ping (ping)'));
  t.is(lines[lines.length - 1], '✘ 1 of 4 checks failed');
  t.false(text.includes('\x1b['), 'no colour codes when colour is off');
});

test('table: all passed verdict, colour only when asked', (t) => {
  const passing = makeReport('calico-vxlan', checks.filter((c) => c.ok));
  const plain = formatReport(passing, { color: false });
  t.is(plain.split('\n').pop(), '✔ 3 checks passed');
  t.true(formatReport(passing, { color: true }).includes('\x1b[32m✔ 3 checks passed\x1b[39m'));
});

test('compact (lab up): one line per kind, only failures listed, same verdict', (t) => {
  const text = formatReport(makeReport('calico-vxlan', checks), { color: false, compact: true });
  t.true(text.includes('✘ BGP sessions (bgp-session)  1 of 2 failed'));
  t.true(text.includes('✘ leaf1 -> spine-sw1 (172.16.0.0)  expected Established, observed Active'));
  t.false(text.includes('leaf1 -> spine-sw2'), 'passed checks are not listed');
  t.true(text.split('\n').some((l) => /^✔ .*\(route\)|^✘ .*\(route\)/.test(l)));
  t.is(text.split('\n').pop(), '✘ 1 of 4 checks failed');
});
