// CLI speed: `lab --version` and `lab render` against a baseline this script runs
// itself (a bare `node -e 0`), so the ratio means something on any machine.
// Run: npx tsx bench/cli.ts   (after ./lab has compiled once)
import { execa } from 'execa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const main = path.join(root, 'dist/cli/main.js');
const runs = Number(process.env.RUNS ?? 15);

async function median(argv: string[]): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await execa(argv[0], argv.slice(1), { cwd: root });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const out = await mkdtemp(path.join(tmpdir(), 'bench-render-'));
try {
  const node = await median(['node', '-e', '0']);
  const version = await median(['node', main, '--version']);
  const wrapper = await median([path.join(root, 'lab'), '--version']);
  const render = await median(['node', main, 'render', 'calico-vxlan', '--out', out]);
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  console.log(`median of ${runs} runs`);
  console.log(`baseline  node -e 0                 ${ms(node)}`);
  console.log(`lab --version (node dist/...)       ${ms(version)}  ${(version / node).toFixed(2)}x baseline`);
  console.log(`./lab --version (shell wrapper)     ${ms(wrapper)}  ${(wrapper / node).toFixed(2)}x baseline   target < 150 ms`);
  console.log(`lab render calico-vxlan             ${ms(render)}  ${(render / node).toFixed(2)}x baseline   target < 400 ms`);
} finally {
  await rm(out, { recursive: true, force: true });
}
