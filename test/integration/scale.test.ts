// dc-256's shape, small enough for the default suite: 4 spines, 8 leaves, 4 nodes per
// leaf (nodesPerLeaf), Calico BGP as-per-rack, 2 pods per node; up, verify green, down
// leaving nothing. dc-256 itself: npm run test:scale (test/scale/).
import test from 'ava';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readFile } from 'node:fs/promises';
import { isRoot, loadEmulator } from './emulator-helpers.js';
import type { Provider } from '../../src/providers/types.js';
import { scaleCase } from './scale-case.js';

const serial = isRoot ? test.serial : test.serial.skip;
let emulator: Provider;
test.before(async () => { if (isRoot) emulator = await loadEmulator(); });

serial('a 32-node fabric of dc-256\'s shape comes up, verifies green and goes down leaving nothing', async (t) => {
  const dc = await readFile(path.resolve(import.meta.dirname, '../../labs/dc-256.yaml'), 'utf8');
  const small = dc
    .replace(/^name: .*$/m, 'name: sz-dc32')
    .replace(/^ {4}- \{ name: leaf(09|[1-3]\d), .*\n/gm, '')
    .replace('count: 8,', 'count: 4,')
    .replace('replicas: 512', 'replicas: 64');
  const dir = await mkdtemp(path.join(tmpdir(), 'scale-it-'));
  const file = path.join(dir, 'sz-dc32.yaml');
  await writeFile(file, small);
  const p = await scaleCase(t, emulator, file, 'sz-dc32', { upMs: 60_000, downMs: 10_000 });
  t.deepEqual([p.switches.length, p.nodes.length, p.pods.length], [12, 32, 64]);
});
