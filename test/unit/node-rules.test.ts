// A node's netfilter as two restore inputs (nodeTables) is the same text as the one
// input (nodeIptables), and the nat table is the same on every node: `lab up` loads it
// into one node and copies it to the others.
import test from 'ava';
import { loadLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import { nodeIptables, nodeTables } from '../../src/policy/node-rules.js';

for (const lab of ['labs/calico-vxlan.yaml', 'labs/dc-256.yaml']) {
  test(`${lab}: nodeTables is nodeIptables split in two, and nat is the same on every node`, async (t) => {
    const p = planOf(await loadLab(lab));
    const nodes = p.nodes.slice(0, 8);
    for (const n of nodes) {
      const { filter, nat } = nodeTables(p, n.name, []);
      t.true(filter.startsWith('*filter\n') && filter.endsWith('\nCOMMIT'));
      t.true(nat.startsWith('*nat\n') && nat.endsWith('\nCOMMIT'));
      const whole = nodeIptables(p, n.name, []);
      t.is(whole, `${whole.split('\n')[0]}\n${filter}\n${nat}\n`);
    }
    t.is(new Set(nodes.map((n) => nodeTables(p, n.name, []).nat)).size, 1);
    t.not(new Set(nodes.map((n) => nodeTables(p, n.name, []).filter)).size, 1, 'filters differ per node (their workloads)');
  });
}
