// Fabric designs on the emulator (root): an RFC 7938 fabric (spines in one AS) and
// leaves sharing one AS come up green; a spine losing its cable to leaf1 reaches leaf1's
// rack through leaf2 in the unique-AS design (a valley, which verify names), and cannot
// in RFC 7938's (AS-path loop prevention drops the path). Labs: dz-rfc, dz-uniq, dz-leafas.
import './emulator-env.js';
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Plan } from '../../src/plan/types.js';
import type { Report, Check } from '../../src/verify/index.js';
import { parseFault } from '../../src/fault/model.js';
import { applyFault } from '../../src/fault/apply.js';
import { labYaml, type FabricSpec } from '../fixtures/gen-lab.js';
import { emulatorLabs, verifyUntil, isRoot } from './emulator-helpers.js';

const serial = isRoot ? test.serial : test.serial.skip;
const labs = emulatorLabs(test);
const dir = mkdtempSync(path.join(tmpdir(), 'designs-labs-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** 2 spines, 2 leaves, a node per rack, Calico BGP (AS per rack), two pods. */
async function upDesign(name: string, asns: Pick<FabricSpec, 'spineAsn' | 'leafAsn'>): Promise<Plan> {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, labYaml({ name, spines: 2, leaves: 2, nodesPerRack: 1, mode: 'bgp', peering: 'as-per-rack', pods: 2, ...asns }));
  return labs.bringUp(file, name);
}

const failed = (r: Report) => r.checks.filter((c) => !c.ok);
const route = (r: Report, subject: string): Check => r.checks.find((c) => c.kind === 'route' && c.subject === subject)!;

async function green(t: ExecutionContext, p: Plan): Promise<Report> {
  const r = await verifyUntil(labs.emulator, p, (x) => x.ok);
  t.deepEqual(failed(r).map((c) => `${c.kind} ${c.subject}: ${c.observed}`), [], `${p.name} green`);
  return r;
}

const cutSpine1Leaf1 = (p: Plan) => applyFault(p, labs.emulator, p.name, parseFault(p, 'link', ['spine1', 'leaf1', 'down'], {}));

serial('RFC 7938 (spines in one AS): green with next hops in the checks; spine1 cut from leaf1 has no path to its rack, not a valley', async (t) => {
  const p = await upDesign('dz-rfc', { spineAsn: 65000 });
  const r = await green(t, p);
  t.deepEqual(route(r, 'leaf1 10.0.102.0/24').nextHops?.map((h) => h.device), ['spine1', 'spine2'], 'ECMP over both spines, named');
  t.like(route(r, 'spine1 10.0.101.0/24'), { about: { device: 'spine1', prefix: '10.0.101.0/24' }, nextHops: [{ ip: '172.16.0.1', dev: 'swp1', device: 'leaf1' }] });

  await cutSpine1Leaf1(p);
  const cut = await verifyUntil(labs.emulator, p, (x) => route(x, 'spine1 10.0.101.0/24').observed === 'absent' && !route(x, 'leaf2 10.0.101.0/24').ok);
  t.is(route(cut, 'spine1 10.0.101.0/24').observed, 'absent', 'leaf2 offers 65102 65000 65101: spine1 drops it (its own AS)');
  t.regex(route(cut, 'spine1 10.0.101.0/24').hint!, /the spines share AS 65000: spine1 drops any path through another leaf/);
  t.regex(route(cut, 'leaf2 10.0.101.0/24').observed, /^present, 1 next hop via spine2 .*; none via spine1/);
  t.false(failed(cut).some((c) => c.observed.startsWith('valley')));
  t.true(cut.checks.filter((c) => c.kind === 'ping').every((c) => c.ok), 'spine2 carries everything');
});

serial('unique ASes: the same cut leaves spine1 a valley path through leaf2, which verify names', async (t) => {
  const p = await upDesign('dz-uniq', {});
  await green(t, p);
  await cutSpine1Leaf1(p);
  const cut = await verifyUntil(labs.emulator, p, (x) => route(x, 'spine1 10.0.101.0/24').observed.startsWith('valley'));
  const valley = route(cut, 'spine1 10.0.101.0/24');
  t.like(valley, { ok: false, status: 'fail', expected: 'present, 1 next hop via leaf1' });
  t.is(valley.observed, 'valley path: via leaf2 (172.16.0.3 dev swp2), AS path 65102 65002 65101, not leaf1 (down to a leaf and up again through another spine)');
  t.deepEqual(valley.nextHops, [{ ip: '172.16.0.3', dev: 'swp2', device: 'leaf2' }]);
  t.regex(valley.hint!, /leaf2 carries traffic between spines/);
});

serial('leaves sharing one AS (allowas-in; nodes in that AS accept it too): green, pods reach across racks', async (t) => {
  const p = await upDesign('dz-leafas', { leafAsn: 65100 });
  const r = await green(t, p);
  t.true(r.checks.some((c) => c.kind === 'ping' && c.ok), 'cross-rack pings answered');
  const node = p.nodes[0];
  t.is(node.bgp!.allowLocalAs, 1);
  t.like(r.checks.find((c) => c.kind === 'route' && c.subject === `${node.name} ${p.nodes[1].blocks[0]}`), { ok: true }, 'the node learnt the other rack over BGP, its own AS in the path');
});
