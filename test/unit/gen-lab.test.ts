// The property test's lab generator (test/fixtures/gen-lab.ts): every lab it makes is
// valid (loads, plans, renders), and the traits every run covers are really there.
import test from 'ava';
import { parseLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { renderAll } from '../../src/render/index.js';
import { labYaml, propertySpecs, PROPERTY_TRAITS, randomSpec, type FabricSpec } from '../fixtures/gen-lab.js';

const planOf = (s: FabricSpec) => plan(parseLab(labYaml(s), `/tmp/${s.name}.yaml`));

test('500 random labs load, plan and render without a problem', (t) => {
  for (let seed = 1; seed <= 500; seed++) {
    const s = randomSpec(seed, `vz-g${seed}`);
    try {
      renderAll(planOf(s));
    } catch (e) {
      t.fail(`seed ${seed}: ${e instanceof Error ? e.message : String(e)}\n${labYaml(s)}`);
      return;
    }
  }
  t.pass();
});

test('the traits of every property run: VXLAN 8472/5001, 4-byte ASNs, as-per-node, /20 and /32 blocks, an empty rack, fabric-only, one and two spines, bridge', (t) => {
  for (const seed of [1, 42, 2 ** 31]) {
    const specs = propertySpecs(seed, PROPERTY_TRAITS.length, 'vz-p');
    const plans = specs.map(({ spec }) => planOf(spec));
    const lab = (i: number) => plans[i].lab;
    const calico = (i: number) => { const c = lab(i).cni; return c?.plugin === 'calico' ? c.calico : undefined; };
    t.like(calico(0), { mode: 'vxlan', vxlanPort: 8472, vxlanVNI: 5001 });
    t.is(plans[0].intent.encapsulation?.port, 8472, 'the encapsulation check looks at the configured port');
    t.true(plans[0].switches.every((s) => !s.bgp || s.bgp.asn < 65536));
    t.like(calico(1), { mode: 'bgp', peering: 'as-per-node' });
    t.true(plans[1].switches.every((s) => !s.bgp || s.bgp.asn > 65535), '4-byte ASNs');
    t.is(plans[1].switches.filter((s) => s.kind === 'spine').length, 2);
    t.like(calico(2), { mode: 'bgp', blockSize: 32 });
    t.true(plans[2].pods.length >= 2);
    t.is(lab(3).kubernetes, undefined, 'fabric only');
    t.like(calico(4), { mode: 'vxlan', blockSize: 20 });
    t.is(plans[4].switches.filter((s) => s.kind === 'spine').length, 1);
    t.true(lab(4).fabric!.leaves.some((l) => !plans[4].nodes.some((n) => n.rack === l.name)), 'a rack with no nodes');
    t.is(lab(5).cni?.plugin, 'bridge');
    for (const p of plans) renderAll(p);
  }
});

test('the same seed gives the same labs; another seed others', (t) => {
  const yaml = (seed: number) => propertySpecs(seed, 8, 'vz-p').map(({ spec }) => labYaml(spec)).join('---\n');
  t.is(yaml(7), yaml(7));
  t.not(yaml(7), yaml(8));
});

test('random faults are faults `lab fault` accepts, and only a failed check about them names them', async (t) => {
  const { parseFault } = await import('../../src/fault/model.js');
  const { randomFault } = await import('../fixtures/gen-fault.js');
  const { rng } = await import('../fixtures/gen-lab.js');
  const kinds = new Set<string>();
  for (let seed = 1; seed <= 200; seed++) {
    const p = planOf(randomSpec(seed, `vz-f${seed}`));
    const f = randomFault(p, rng(seed));
    kinds.add(f.what);
    t.notThrows(() => parseFault(p, f.what, f.args, {}), `seed ${seed}: ${f.what} ${f.args.join(' ')}`);
    const unrelated = { kind: 'bgp-session' as const, subject: 'nowhere -> nothing (192.0.2.1)', ok: false, status: 'fail' as const, expected: 'Established', observed: 'Idle' };
    t.false(f.names(unrelated), `seed ${seed}: ${f.what} ${f.args.join(' ')}`);
  }
  t.deepEqual([...kinds].sort(), ['blackhole', 'daemon', 'link']);
});
