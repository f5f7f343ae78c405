// Seeded mutations of the shipped labs: whatever the loader accepts must plan without
// an exception (its capacity rules mirror the plan's allocation), and whatever it
// rejects must be a LabFileError without stack frames.
import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseLab } from '../../src/lab/load.js';
import { LabFileError } from '../../src/errors.js';
import { labsDir } from '../../src/paths.js';
import { plan } from '../../src/plan/index.js';

// The dc-* labs plan in about a second each: far too slow to mutate hundreds of times.
const labs = readdirSync(labsDir).filter((f) => f.endsWith('.yaml') && !f.startsWith('dc-')).map((f) => ({ file: path.join(labsDir, f), text: readFileSync(path.join(labsDir, f), 'utf8') }));

/** mulberry32: small, seedable, good enough to pick mutations. */
function random(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

const pick = <T>(rnd: (n: number) => number, xs: T[]) => xs[rnd(xs.length)];
const kindOf = (v: string) => v.includes('/') ? 'net' : /^\d+\.\d+\.\d+\.\d+$/.test(v) ? 'ip' : /^\d+$/.test(v) ? 'num' : 'word';

function replacement(rnd: (n: number) => number, kind: string): string {
  const ip = () => [10, pick(rnd, [0, 0, 64, 200]), pick(rnd, [0, 101, 102, 138, 240]), pick(rnd, [0, 1, 2, 3, 100, 101, 102, 254, 255])].join('.');
  switch (kind) {
    case 'net': return `${ip().replace(/\.\d+$/, '.0')}/${pick(rnd, [8, 12, 16, 20, 22, 23, 24, 25, 25, 26, 26, 27, 28, 29, 30, 31, 32])}`;
    case 'ip': return ip();
    case 'num': return String(pick(rnd, [1, 3, 20, 24, 25, 26, 27, 28, 29, 30, 31, 32, 60, 100, 64512, 65001, 65101, 4200000001, 4200000002]));
    default: return pick(rnd, ['leaf1', 'leaf2', 'spine-sw1', 'k8s-master', 'nginx', 'lan', 'control-plane', 'worker', 'bgp', 'ipip', 'vxlan', 'bridge', 'calico', 'as-per-node', 'frr', 'false']);
  }
}

/** Copies of the last node line without its ip, so racks and pod pools fill up. */
function moreNodes(source: string, count: number): string {
  const lines = source.split('\n');
  const last = lines.findLastIndex((l) => /^ {4}- \{ name: /.test(l));
  if (last < 0) return source;
  const copies = Array.from({ length: count }, (_, i) => lines[last].replace(/name: ([\w-]+)/, `name: $1-c${i}`).replace(/, ip: [\d.]+/, ''));
  lines.splice(last + 1, 0, ...copies);
  return lines.join('\n');
}

test('every lab the loader accepts can be planned; every rejection is a clean LabFileError', (t) => {
  const rnd = random(20261123);
  let accepted = 0;
  for (let i = 0; i < 1500; i++) {
    const { file, text } = pick(rnd, labs);
    let source = text;
    for (let m = 0, count = 1 + rnd(3); m < count; m++) {
      if (rnd(4) === 0) { source = moreNodes(source, 1 + rnd(40)); continue; }
      // A value after "key: ", never the lab name (it must match the file name).
      const values = [...source.matchAll(/(\w+): ([^,}\n{]+)/g)].filter((x) => !(x[1] === 'name' && x.index === 0) && x[1] !== 'description');
      const v = pick(rnd, values);
      const at = v.index! + v[1].length + 2;
      source = source.slice(0, at) + replacement(rnd, kindOf(v[2].trim())) + source.slice(at + v[2].length);
    }
    try {
      const lab = parseLab(source, file);
      accepted++;
      t.notThrows(() => plan(lab), source);
    } catch (err) {
      if (!(err instanceof LabFileError)) t.fail(`${String(err)}\n${source}`);
      else t.notRegex(err.message, /^\s*at \S/m);
    }
  }
  t.true(accepted > 100, `${accepted} mutated labs accepted: the mutations should not all be fatal`);
});

/** A one-leaf lab with `count` nodes without ip on `rack`, and a pool big enough for them. */
function rackLab(rack: string, count: number): string {
  const nodes = Array.from({ length: count }, (_, i) => `    - { name: n${i}, leaf: leaf1${i ? '' : ', role: control-plane'} }`);
  return `name: rack
fabric:
  addressing: { loopback: 172.16.255.0/24, p2p: 172.16.0.0/24 }
  spines: [{ name: spine1, asn: 65001 }]
  leaves: [{ name: leaf1, asn: 65101, rack: ${rack} }]
kubernetes:
  version: "1.30"
  podSubnet: 10.64.0.0/12
  serviceSubnet: 10.80.0.0/12
  nodes:
${nodes.join('\n')}
cni: { plugin: calico, calico: { mode: vxlan } }
`;
}

for (const [rack, fits] of [['10.0.101.0/25', 26], ['10.0.101.0/26', 61], ['10.0.101.0/24', 154]] as const) {
  test(`rack ${rack} holds exactly ${fits} automatic node addresses, as the plan allocates them`, (t) => {
    const lab = parseLab(rackLab(rack, fits), '/x/rack.yaml');
    t.is(plan(lab).nodes.length, fits);
    const err = t.throws(() => parseLab(rackLab(rack, fits + 1), '/x/rack.yaml'), { instanceOf: LabFileError });
    t.regex(err!.message, new RegExp(`fabric\\.leaves\\[0\\]\\.rack  ${rack.replace(/[./]/g, '\\$&')} has no address left for 1 of its ${fits + 1} nodes`));
  });
}
