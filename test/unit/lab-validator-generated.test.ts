import test from 'ava';
import { readFileSync } from 'node:fs';
import { generateLabValidator, generatedPath } from '../../scripts/gen-lab-validator.js';

test('the precompiled lab validator matches src/lab/schema.ts (regenerate: npx tsx scripts/gen-lab-validator.ts)', (t) => {
  t.is(readFileSync(generatedPath, 'utf8'), generateLabValidator());
});
