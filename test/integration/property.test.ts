// Property test (issue 8 item 5), root: generated labs across the options the lab file
// allows (test/fixtures/gen-lab.ts: VXLAN ports and VNIs, block sizes 20..32, 2- and
// 4-byte ASNs, as-per-rack and as-per-node, addressing ranges, one or two spines, racks
// with no nodes, fabric-only, bridge) are brought up on the emulator and must verify
// green; then one random fault (link down, daemon stopped, blackhole route, through
// src/fault) and verify must fail and name it. The first labs of every run carry the
// traits of PROPERTY_TRAITS, so each run covers them whatever the seed.
//
// FABRIC_LAB_PROPERTY_SEED=N replays a run (the seed is printed on every failure and in
// the log); FABRIC_LAB_PROPERTY_LABS=N sets how many labs (default 12). Labs run as vz-pI.
import './emulator-env.js';
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { verify, type Report } from '../../src/verify/index.js';
import { parseFault } from '../../src/fault/model.js';
import { applyFault } from '../../src/fault/apply.js';
import type { Plan } from '../../src/plan/types.js';
import { labYaml, propertySpecs, rng } from '../fixtures/gen-lab.js';
import { randomFault } from '../fixtures/gen-fault.js';
import { emulatorLabs, verifyUntil, isRoot } from './emulator-helpers.js';

const serial = isRoot ? test.serial : test.serial.skip;
const labs = emulatorLabs(test);

const seed = process.env.FABRIC_LAB_PROPERTY_SEED ? Number(process.env.FABRIC_LAB_PROPERTY_SEED) >>> 0 : Math.floor(Math.random() * 2 ** 32);
const count = Number(process.env.FABRIC_LAB_PROPERTY_LABS) || 12;
const replay = `replay: FABRIC_LAB_PROPERTY_SEED=${seed}`;

const bad = (r: Report) => r.checks.filter((c) => c.status !== 'pass').map((c) => `${c.status} ${c.kind} ${c.subject}: expected ${c.expected}, observed ${c.observed}`);

const specs = propertySpecs(seed, count, 'vz-p');
let dir = '';

test.before(async () => { dir = await mkdtemp(path.join(tmpdir(), 'vz-property-')); });
test.after.always(async () => { if (dir) await rm(dir, { recursive: true, force: true }); });

for (const [i, { spec, trait }] of specs.entries()) {
  serial(`generated lab ${i} (${trait ?? 'random'}): green, then a random fault is named`, async (t) => {
    t.timeout(90_000);
    const file = path.join(dir, `${spec.name}.yaml`);
    const yaml = labYaml(spec);
    await writeFile(file, yaml);
    const why = (what: string, r: Report) => `${what} (seed ${seed}, lab ${i}; ${replay})\n${bad(r).slice(0, 15).join('\n')}\n--- ${spec.name}.yaml\n${yaml}`;

    const p = await labs.bringUp(file, spec.name);
    t.log(`seed ${seed}, lab ${i}: ${p.description}`);
    const green = await verify(p, labs.emulator);
    t.true(green.ok, why('not green right after up', green));
    if (!green.ok) return;

    const f = randomFault(p, rng(seed ^ (i * 2654435761)));
    const fault = `lab fault ${spec.name} ${f.what} ${f.args.join(' ')}`;
    t.log(fault);
    await applyFault(p, labs.emulator, p.name, parseFault(p, f.what, f.args, {}));
    const named = (r: Report) => r.checks.some((c) => c.status === 'fail' && f.names(c));
    const broken = await verifyUntil(labs.emulator, p, named, 15_000);
    t.false(broken.ok, why(`verify stayed green after \`${fault}\``, broken));
    t.true(broken.summary.failed > 0, why(`no failed check after \`${fault}\``, broken));
    t.true(named(broken), why(`no failed check names \`${fault}\``, broken));
    await labs.emulator.down(p.name);
  });
}
