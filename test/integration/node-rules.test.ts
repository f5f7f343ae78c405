// The nodes' netfilter as `lab up` loads it (loadNodeRules: the first node by
// iptables-restore, the others' nat table copied from it by emulator-configs/nft-clone.py)
// is exactly what an iptables-restore of nodeIptables() gives on each node: the same
// `iptables-save` and the same kernel objects (`nft --debug=netlink`), counters at zero;
// `lab policy apply` (iptables-restore again) works on a copied node. Root.
import './emulator-env.js';
import test from 'ava';
import { execa } from 'execa';
import { loadLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import { nodeIptables } from '../../src/policy/node-rules.js';
import { loadNodeRules } from '../../src/providers/emulator/build.js';
import { cloneNftTable } from '../../src/providers/emulator/run.js';

const isRoot = process.getuid?.() === 0;
const serial = isRoot ? test.serial : test.serial.skip;
const made: string[] = [];

async function netns(name: string): Promise<string> {
  await execa('ip', ['netns', 'add', name]);
  made.push(name);
  return name;
}
const inNs = async (ns: string, argv: string[], input?: string) => (await execa('nsenter', [`--net=/var/run/netns/${ns}`, '--', ...argv], { input })).stdout;
const save = async (ns: string) => (await inNs(ns, ['iptables-save'])).replace(/^#.*$/gm, '');
const objects = async (ns: string) => (await inNs(ns, ['nft', '--debug=netlink', 'list', 'ruleset']))
  .replace(/^# Warning.*\n/gm, '').replace(/ \d+( \d+)?$/gm, '') // rule handles and positions
  .replace(/\[ counter pkts \d+ bytes \d+ \]/g, '[ counter ]');

test.after.always(async () => {
  if (made.length) await execa('ip', ['-batch', '-'], { input: made.map((n) => `netns del ${n}`).join('\n') + '\n', reject: false });
});

serial('dc-256 nodes: the copied nat table and restored filter are what iptables-restore of nodeIptables gives', async (t) => {
  const p = planOf(await loadLab('labs/dc-256.yaml'));
  const nodes = p.nodes.slice(0, 3);
  const lab = await Promise.all(nodes.map(async (n, i) => ({ ns: await netns(`ipt-it-lab${i}`), device: n.name })));
  const ref = await Promise.all(nodes.map((_, i) => netns(`ipt-it-ref${i}`)));
  await loadNodeRules(p, lab, []);
  for (const [i, n] of nodes.entries()) {
    await inNs(ref[i], ['iptables-restore', '-w'], nodeIptables(p, n.name, []));
    const got = await save(lab[i].ns);
    t.is(got, await save(ref[i]), `${n.name}: iptables-save`);
    t.regex(got, /^-A KUBE-SVC-\w{16} -m comment --comment "[^"]+" -m statistic --mode random --probability [\d.]+ -j KUBE-SEP-\w{16}$/m);
    t.is(await objects(lab[i].ns), await objects(ref[i]), `${n.name}: kernel objects`);
  }
  // lab policy apply replaces both tables of a node whose nat was copied
  await inNs(lab[2].ns, ['iptables-restore', '-w'], nodeIptables(p, nodes[2].name, []));
  t.is(await save(lab[2].ns), await save(ref[2]));
});

serial('a copy into a namespace that has the table already fails, naming it', async (t) => {
  const p = planOf(await loadLab('labs/calico-vxlan.yaml'));
  const [a, b] = [await netns('ipt-it-a'), await netns('ipt-it-b')];
  for (const ns of [a, b]) await inNs(ns, ['iptables-restore', '-w'], nodeIptables(p, p.nodes[0].name, []));
  const e = await t.throwsAsync(cloneNftTable(a, 'nat', [b]));
  t.regex(e!.message, /copying the nat table of ipt-it-a failed: .*ipt-it-b: table nat: message \d+ refused: File exists/);
});
