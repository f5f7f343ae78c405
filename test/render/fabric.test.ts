// Switch configs (DESIGN 4): golden files, determinism, and the real checkers offline:
// FRR's own grammar (`vtysh --dryrun`) for frr.conf and ifupdown2's (`ifup -s`) for
// interfaces, each shown to reject a broken file so a pass means something.
import test from 'ava';
import { execa } from 'execa';
import { ifupCheckFile } from '../helpers/ifup.js';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import { renderFabric, FAST_TIMERS } from '../../src/render/fabric.js';
import type { Artifact } from '../../src/render/types.js';
import { checkGolden } from '../helpers/golden.js';
import { labsDir, repoRoot } from '../../src/paths.js';

const fixture = (name: string) => path.join(repoRoot, 'test/fixtures/labs', `${name}.yaml`);
const LABS = readdirSync(labsDir).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort()
  // The big dc-* labs render thousands of files: checked in test/render/scale.test.ts.
  .filter((l) => !l.startsWith('dc-'));
/** Every lab the checkers run on: the shipped ones and the renderer's own test labs. */
const ALL = [...LABS.map((l) => ({ name: l, ref: l })), ...['fabric-frr', 'fabric-only', 'shared-leaf-as'].map((l) => ({ name: l, ref: fixture(l) }))];
const GOLDEN = ['calico-vxlan', 'calico-bgp', 'bridge-static', 'fabric-frr', 'rfc7938', 'shared-leaf-as'];
const refOf = (name: string) => ALL.find((l) => l.name === name)!.ref;

const plans = new Map<string, Promise<Plan>>();
const planOf = (name: string) => {
  if (!plans.has(name)) plans.set(name, loadLab(refOf(name)).then(plan));
  return plans.get(name)!;
};
const rendered = async (name: string) => renderFabric(await planOf(name));
const file = (arts: Artifact[], p: string) => {
  const a = arts.find((x) => x.path === p);
  if (!a) throw new Error(`not rendered: ${p}`);
  return a.content;
};

const tmp = mkdtempSync(path.join(tmpdir(), 'fabric-test-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
let tmpCount = 0;
function writeTmp(content: string, name: string): string {
  const f = path.join(tmp, `${tmpCount++}-${name}`);
  writeFileSync(f, content);
  return f;
}

// ---- golden files ------------------------------------------------------------------

for (const name of GOLDEN) {
  test(`${name}: rendered switch configs match the golden files byte for byte`, async (t) => {
    checkGolden(t, name, await rendered(name), ['fabric-configs']);
  });
}

test('rendering is deterministic: two plans of the same lab give identical files', async (t) => {
  for (const { ref } of ALL) {
    const a = renderFabric(plan(await loadLab(ref)));
    const b = renderFabric(plan(await loadLab(ref)));
    t.deepEqual(a, b, ref);
  }
});

test('files per switch: frr.conf, daemons and interfaces; the LAN switch gets interfaces only', async (t) => {
  t.deepEqual((await rendered('calico-vxlan')).map((a) => a.path).sort(), ['leaf1', 'leaf2', 'spine-sw1', 'spine-sw2']
    .flatMap((s) => ['daemons', 'frr.conf', 'interfaces'].map((f) => `fabric-configs/${s}/${f}`)));
  for (const lan of ['bridge-static', 'kthw-static', 'calico-ipip']) {
    t.deepEqual((await rendered(lan)).map((a) => a.path), ['fabric-configs/lan/interfaces'], lan);
  }
});

// ---- meaning ---------------------------------------------------------------------------

const lines = (s: string) => s.split('\n');
const has = (s: string, line: string) => lines(s).includes(line);

test('leaves originate rack and loopback, spines their loopback; multipath and fast timers', async (t) => {
  const arts = await rendered('calico-vxlan');
  const leaf = file(arts, 'fabric-configs/leaf1/frr.conf');
  const spine = file(arts, 'fabric-configs/spine-sw2/frr.conf');
  const networks = (s: string) => lines(s).filter((l) => l.startsWith('  network ')).map((l) => l.trim());
  t.deepEqual(networks(leaf), ['network 10.0.101.0/24', 'network 172.16.255.101/32']);
  t.deepEqual(networks(spine), ['network 172.16.255.2/32']);
  for (const conf of [leaf, spine]) {
    for (const l of ['frr defaults datacenter', 'service integrated-vtysh-config', 'ip forwarding', ' no bgp ebgp-requires-policy',
      ' bgp bestpath as-path multipath-relax', ' timers bgp 3 9',
      ` neighbor FABRIC timers connect ${FAST_TIMERS.connectRetry}`, '  maximum-paths 64', '  maximum-paths ibgp 64']) {
      t.true(has(conf, l), l);
    }
  }
  t.true(has(leaf, 'hostname leaf1') && has(leaf, ' bgp router-id 172.16.255.101') && has(leaf, 'router bgp 65101'));
  for (const [ip, asn, name] of [['172.16.0.0', 65001, 'spine-sw1'], ['172.16.0.4', 65002, 'spine-sw2']]) {
    t.true(has(leaf, ` neighbor ${ip} remote-as ${asn}`) && has(leaf, ` neighbor ${ip} peer-group FABRIC`) && has(leaf, ` neighbor ${ip} description ${name}`), name as string);
  }
  t.false(leaf.includes('listen'), 'VXLAN mode: the leaf has only its spine sessions');
});

test('BGP mode, AS per rack: leaf accepts its rack as iBGP route-reflector clients with next-hop-self', async (t) => {
  const leaf = file(await rendered('calico-bgp'), 'fabric-configs/leaf2/frr.conf');
  for (const l of [' neighbor RACK peer-group', ' neighbor RACK remote-as 65102', ' bgp listen range 10.0.102.0/24 peer-group RACK',
    ' bgp listen limit 253', '  neighbor RACK route-reflector-client', '  neighbor RACK next-hop-self']) {
    t.true(has(leaf, l), l);
  }
  // FRR drops `bgp listen range` for a peer group not yet defined: order matters.
  t.true(leaf.indexOf(' neighbor RACK peer-group') < leaf.indexOf(' bgp listen range'));
  t.false(file(await rendered('calico-bgp'), 'fabric-configs/spine-sw1/frr.conf').includes('RACK'));
});

test('BGP mode, AS per node: eBGP peer group, no route reflection; listen limit fits the rack', async (t) => {
  const arts = await rendered('fabric-frr');
  const lf3 = file(arts, 'fabric-configs/lf3/frr.conf');
  t.true(has(lf3, ' neighbor RACK remote-as external'));
  t.false(lf3.includes('route-reflector-client'));
  t.true(has(lf3, ' bgp listen range 10.1.3.0/26 peer-group RACK'));
  t.true(has(lf3, ' bgp listen limit 61'), '/26: 64 addresses minus network, broadcast and gateway');
  t.true(has(file(arts, 'fabric-configs/lf2/frr.conf'), ' bgp listen limit 125'));
  t.true(has(lf3, 'router bgp 4210000103'), '4-byte ASN');
});

test('interfaces: loopback /32, fabric /31s, rack bridge with its access ports and gateway', async (t) => {
  const arts = await rendered('calico-vxlan');
  const leaf = file(arts, 'fabric-configs/leaf1/interfaces');
  const stanza = (s: string, name: string) => {
    const i = lines(s).indexOf(`iface ${name}`) >= 0 ? lines(s).indexOf(`iface ${name}`) : lines(s).indexOf(`iface ${name} inet loopback`);
    const rest = lines(s).slice(i + 1);
    return rest.slice(0, rest.findIndex((l) => !l.startsWith('    '))).map((l) => l.trim());
  };
  t.deepEqual(stanza(leaf, 'lo'), ['address 172.16.255.101/32']);
  t.deepEqual(stanza(leaf, 'swp1'), ['alias to spine-sw1 swp1', 'address 172.16.0.1/31']);
  t.deepEqual(stanza(leaf, 'swp2'), ['alias to spine-sw2 swp1', 'address 172.16.0.5/31']);
  t.deepEqual(stanza(leaf, 'swp5'), ['alias to k8s-node-l1-2 eth0']);
  t.deepEqual(stanza(leaf, 'br0'), ['alias rack leaf1 gateway', 'bridge-vlan-aware no', 'bridge-ports swp3 swp4 swp5', 'bridge-stp off', 'address 10.0.101.1/24']);
  for (const p of ['swp1', 'swp2', 'swp3', 'swp4', 'swp5', 'br0', 'lo']) t.true(has(leaf, `auto ${p}`), p);
  t.deepEqual(stanza(file(arts, 'fabric-configs/spine-sw1/interfaces'), 'swp2'), ['alias to leaf2 swp1', 'address 172.16.0.2/31']);
  const lan = file(await rendered('bridge-static'), 'fabric-configs/lan/interfaces');
  t.deepEqual(stanza(lan, 'br0'), ['alias LAN gateway', 'bridge-vlan-aware no', 'bridge-ports swp1 swp2', 'bridge-stp off', 'address 10.138.0.1/24']);
  t.deepEqual(stanza(lan, 'lo'), []);
  const empty = file(await rendered('fabric-only'), 'fabric-configs/leaf1/interfaces');
  t.deepEqual(stanza(empty, 'br0'), ['alias rack leaf1 gateway', 'bridge-vlan-aware no', 'bridge-ports rack-keepalive', 'bridge-stp off', 'address 10.9.1.1/24'], 'a rack without nodes');
});

test('flavours: Cumulus keeps its management VRF and auto profile; FRR on Debian sets the profile', async (t) => {
  const cumulus = await rendered('calico-vxlan');
  const frr = await rendered('fabric-frr');
  t.true(has(file(cumulus, 'fabric-configs/leaf1/interfaces'), '    vrf mgmt'));
  t.false(file(frr, 'fabric-configs/lf1/interfaces').includes('vrf'));
  t.true(has(file(frr, 'fabric-configs/lf1/daemons'), 'frr_profile="datacenter"'));
  t.false(has(file(cumulus, 'fabric-configs/leaf1/daemons'), 'frr_profile="datacenter"'));
  for (const d of [file(cumulus, 'fabric-configs/leaf1/daemons'), file(frr, 'fabric-configs/sp1/daemons')]) {
    t.true(has(d, 'bgpd=yes') && has(d, 'bfdd=no') && has(d, 'vtysh_enable=yes'));
    t.is(lines(d).filter((l) => /^[a-z0-9]+d=yes$/.test(l)).length, 1, 'bgpd is the only extra daemon');
  }
  const strip = (s: string) => lines(s).filter((l) => !l.startsWith('!')).join('\n');
  const vx = await rendered('calico-vxlan');
  const asFrr = renderFabric({ ...(await planOf('calico-vxlan')), switches: (await planOf('calico-vxlan')).switches.map((s) => ({ ...s, os: 'frr' as const })) });
  t.is(strip(file(asFrr, 'fabric-configs/leaf1/frr.conf')), strip(file(vx, 'fabric-configs/leaf1/frr.conf')), 'frr.conf is the same for both flavours');
});

// ---- FRR's grammar -------------------------------------------------------------------

async function dryrun(conf: string) {
  return execa('vtysh', ['--dryrun', '-f', writeTmp(conf, 'frr.conf')], { reject: false, all: true });
}

test('vtysh --dryrun accepts every rendered frr.conf, silently', async (t) => {
  let n = 0;
  for (const { name } of ALL) {
    for (const a of (await rendered(name)).filter((x) => x.path.endsWith('/frr.conf'))) {
      const r = await dryrun(a.content);
      t.is(r.exitCode, 0, `${name} ${a.path}: ${r.all}`);
      t.is(r.all, '', `${name} ${a.path}`);
      n++;
    }
  }
  t.true(n >= 13, `${n} files checked`);
});

test('vtysh --dryrun does reject a broken frr.conf (the check above can fail)', async (t) => {
  const good = file(await rendered('calico-bgp'), 'fabric-configs/leaf1/frr.conf');
  for (const [from, to] of [[' neighbor FABRIC timers connect', ' neighbor FABRIC timerz connect'], ['network 10.0.101.0/24', 'network 10.0.101.0/33'], [' bgp listen range 10.0.101.0/24', ' bgp listen range 10.0.101.300/24']]) {
    t.true(good.includes(from));
    const r = await dryrun(good.replace(from, to));
    t.not(r.exitCode, 0, to);
    t.regex(r.all ?? '', /Unknown command|line \d+/, to);
  }
});

// ---- ifupdown2's grammar -------------------------------------------------------------

const ifupCheck = (content: string) => ifupCheckFile(writeTmp(content, 'interfaces'));

/** ifupdown2 accepts unknown attribute names silently, so they are checked here. */
const ALLOWED_ATTRIBUTES = new Set(['address', 'alias', 'bridge-ports', 'bridge-stp', 'bridge-vlan-aware', 'link-type', 'vrf', 'vrf-table']);

function attributes(content: string): string[] {
  return lines(content).filter((l) => /^\s+\S/.test(l) && !l.trim().startsWith('#')).map((l) => l.trim().split(/\s+/)[0]);
}

test('ifup -s accepts every rendered interfaces file; every attribute is known to ifupdown2 and allowed here', async (t) => {
  const help = await execa('ifquery', ['--syntax-help']);
  const known = new Set(help.stdout.split('\n').filter((l) => /^ {2}[a-z0-9-]+$/.test(l)).map((l) => l.trim()));
  t.true(known.has('bridge-ports') && known.size > 100, 'ifupdown2 lists its attributes');
  for (const a of ALLOWED_ATTRIBUTES) t.true(known.has(a), `${a} is an ifupdown2 attribute`);
  let n = 0;
  for (const { name } of ALL) {
    for (const a of (await rendered(name)).filter((x) => x.path.endsWith('/interfaces'))) {
      const r = await ifupCheck(a.content);
      t.is(r.exitCode, 0, `${name} ${a.path}: ${r.all}`);
      t.is(r.all, '', `${name} ${a.path}`);
      for (const attr of attributes(a.content)) t.true(ALLOWED_ATTRIBUTES.has(attr), `${name} ${a.path}: attribute ${attr}`);
      n++;
    }
  }
  t.true(n >= 19, `${n} files checked`);
});

test('the interfaces checks do reject bad values and unknown attribute names', async (t) => {
  const good = file(await rendered('calico-vxlan'), 'fabric-configs/leaf1/interfaces');
  for (const [from, to] of [['172.16.0.1/31', '1.2.3.400/31'], ['bridge-stp off', 'bridge-stp maybe'], ['inet dhcp', 'inet dhcpx']]) {
    t.true(good.includes(from));
    const r = await ifupCheck(good.replace(from, to));
    t.not(r.exitCode, 0, to);
  }
  const typo = good.replace('    address 172.16.0.1/31', '    adress 172.16.0.1/31');
  t.is((await ifupCheck(typo)).exitCode, 0, 'ifupdown2 itself lets a misspelt attribute through...');
  t.false(attributes(typo).every((a) => ALLOWED_ATTRIBUTES.has(a)), '...the allow-list does not');
});

test('a rack without nodes keeps its bridge up with a dummy member (a VM would drop the rack route otherwise)', async (t) => {
  const p = plan(await loadLab(fixture('fabric-only')));
  const leaf = renderFabric(p).find((a) => a.path === 'fabric-configs/leaf1/interfaces')!.content;
  t.regex(leaf, /auto rack-keepalive\niface rack-keepalive\n {4}link-type dummy/);
  t.regex(leaf, /bridge-ports rack-keepalive/);
  const full = renderFabric(plan(await loadLab('calico-vxlan'))).find((a) => a.path === 'fabric-configs/leaf1/interfaces')!.content;
  t.false(full.includes('rack-keepalive'), 'racks with nodes bridge their node ports only');
});
