// dc-256 itself (4 x 32 x 8, 804 namespaces, 512 pods): up, verify green, down leaving
// nothing. Behind `npm run test:scale` (several minutes on a loaded 2-core host).
import test from 'ava';
import path from 'node:path';
import { isRoot, loadEmulator } from '../integration/emulator-helpers.js';
import type { Provider } from '../../src/providers/types.js';
import { scaleCase } from '../integration/scale-case.js';

const serial = isRoot ? test.serial : test.serial.skip;
let emulator: Provider;
test.before(async () => { if (isRoot) emulator = await loadEmulator(); });

serial('dc-256 comes up, verifies green and goes down leaving nothing', async (t) => {
  const p = await scaleCase(t, emulator, path.resolve(import.meta.dirname, '../../labs/dc-256.yaml'), 'sz-dc256', { upMs: 240_000, downMs: 10_000 });
  t.deepEqual([p.switches.length, p.nodes.length, p.pods.length], [36, 256, 512]);
});
