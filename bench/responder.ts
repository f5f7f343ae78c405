// Memory of the pods' TCP responder (emulator-configs/responder.py): one process per
// node serving N pods, N = 0 (the floor: the interpreter alone), 100, 300; RSS and the
// per-pod increment over the floor. Root; creates namespaces po-bench-* and removes them.
//   npx tsx bench/responder.ts
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { readFile, rm, access } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';

const SCRIPT = new URL('../emulator-configs/responder.py', import.meta.url).pathname;
const rssKb = async (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]);

async function measure(n: number): Promise<number> {
  const ns = Array.from({ length: n }, (_, i) => `po-bench-${i}`);
  await execa('ip', ['-batch', '-'], { input: ns.map((x) => `netns add ${x}`).join('\n') + '\n', reject: false });
  const ready = `/tmp/po-bench-${n}.ready`;
  await rm(ready, { force: true });
  writeFileSync(`/tmp/po-bench-${n}.json`, JSON.stringify({ ready, listeners: ns.map((x) => ({ name: x, netns: `/var/run/netns/${x}`, ports: [80, 81] })) }));
  const p = spawn('/usr/bin/python3', [SCRIPT, `/tmp/po-bench-${n}.json`], { stdio: 'ignore' });
  for (;;) { try { await access(ready); break; } catch { await new Promise((r) => setTimeout(r, 20)); } }
  const kb = await rssKb(p.pid!);
  p.kill();
  await execa('ip', ['-batch', '-'], { input: ns.map((x) => `netns del ${x}`).join('\n') + '\n', reject: false });
  return kb;
}

const floor = await measure(0);
console.log(`responder, 0 pods (floor): ${(floor / 1024).toFixed(1)} MiB`);
for (const n of [100, 300]) {
  const kb = await measure(n);
  console.log(`responder, ${n} pods x 2 ports: ${(kb / 1024).toFixed(1)} MiB, ${((kb - floor) / n).toFixed(1)} KiB per pod over the floor (${(kb / floor).toFixed(2)}x floor)`);
}
