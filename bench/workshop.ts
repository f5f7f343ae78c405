// bench/workshop.ts: a class of N copies of calico-vxlan (default 20) on this host.
// Measures: time from `lab up --instances N` to every copy up and verified; memory the
// class costs (MemAvailable before vs with all up: kernel objects and daemons together,
// plus the RSS of the daemons in the copies' namespaces); verify of each copy while all
// run (every one green, none unknown). Targets (issue 12): <= 40 s, <= 4 GiB.
// Floor built in the same run: one copy alone (`lab up` to verified), so the ratio says
// what parallel bring-up costs over N x one. Run as root: npm run build && npx tsx bench/workshop.ts
// (under the shared root lock: flock /tmp/fabric-lab-root.lock npx tsx bench/workshop.ts).
import { execa } from 'execa';
import { mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const main = path.join(root, 'dist/cli/main.js');
const N = Number(process.env.INSTANCES ?? 20);
const env = { ...process.env, NO_COLOR: '1', FABRIC_LAB_STATE: await mkdtemp(path.join(tmpdir(), 'bench-ws-state-')) };
const dir = await mkdtemp(path.join(tmpdir(), 'bench-ws-'));
const file = path.join(dir, 'bench-class.yaml');
await writeFile(file, (await readFile(path.join(root, 'labs/calico-vxlan.yaml'), 'utf8')).replace(/^name: .*$/m, 'name: bench-class'));
const lab = (args: string[]) => execa('node', [main, ...args], { env, reject: false });
const memAvailable = async () => Number(/MemAvailable:\s+(\d+)/.exec(await readFile('/proc/meminfo', 'utf8'))![1]) * 1024;
const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;

async function daemonRss(): Promise<number> {
  let total = 0;
  for (const pid of await readdir('/proc').then((xs) => xs.filter((x) => /^\d+$/.test(x)))) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmd.includes('bench-class')) continue;
    const m = /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
    if (m) total += Number(m[1]) * 1024;
  }
  return total;
}

console.log(`load before: ${(await execa('uptime')).stdout.trim()}`);
// Floor: one copy alone, up and verified.
let t = performance.now();
const one = await lab(['up', file, '--instance', 'floor']);
const floorS = (performance.now() - t) / 1000;
await lab(['down', 'bench-class', '--instance', 'floor']);
if (one.exitCode !== 0) throw new Error(`floor run failed: ${one.stderr}`);

const before = await memAvailable();
t = performance.now();
const up = await lab(['up', file, '--instances', String(N)]);
const classS = (performance.now() - t) / 1000;
const rss = await daemonRss();
const after = await memAvailable();
process.stdout.write(up.stderr.split('\n').filter((l) => /✔|✘/.test(l)).slice(-3).join('\n') + '\n');
// Verify of each while all run.
t = performance.now();
const names = Array.from({ length: N }, (_, i) => `s${String(i + 1).padStart(Math.max(2, String(N).length), '0')}`);
const reports = [];
for (const n of names) {
  const v = await lab(['verify', 'bench-class', '--instance', n, '--json']);
  const r = JSON.parse(v.stdout || '{}');
  reports.push({ n, code: v.exitCode, failed: r.summary?.failed ?? -1, unknown: r.summary?.unknown ?? 0, passed: r.summary?.passed ?? 0 });
}
const verifyS = (performance.now() - t) / 1000;
await lab(['down', '--all']);
const left = (await execa('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.includes('bench-class')).length;

const green = reports.filter((r) => r.code === 0 && r.failed === 0 && r.unknown === 0).length;
console.log(`\n${N} copies of calico-vxlan`);
console.log(`  up and verified (lab up --instances ${N}): ${classS.toFixed(1)} s   (target <= 40 s; exit ${up.exitCode})`);
console.log(`  floor: one copy alone up and verified: ${floorS.toFixed(1)} s; ${N} x floor = ${(N * floorS).toFixed(1)} s; ratio class / (N x floor) = ${(classS / (N * floorS)).toFixed(2)}`);
console.log(`  memory: MemAvailable dropped by ${gib(before - after)} (kernel + daemons); daemons' RSS ${gib(rss)}   (target <= 4 GiB)`);
console.log(`  verify of each while all run: ${green} of ${N} green, ${reports.filter((r) => r.unknown).length} with unknown, ${reports.filter((r) => r.failed).length} failed; ${(verifyS / N).toFixed(2)} s each`);
console.log(`  left behind after down --all: ${left} namespaces`);
console.log(`load after: ${(await execa('uptime')).stdout.trim()}`);
process.exitCode = classS <= 40 && before - after <= 4 * 2 ** 30 && green === N && left === 0 ? 0 : 1;
