// Memory per pod with its TCP responder (emulator-configs/responder.py), against a floor
// built in the same run: N pod namespaces cabled to one node namespace as the emulator
// cables them (a veth each, addresses, routes), first WITHOUT a responder (the floor),
// then with the node's one responder serving every pod on ports 80 and 81. Memory is
// what a memory cgroup is charged (user pages and the kernel's: namespaces, devices,
// sockets), so the namespaces' kernel cost counts, not only the process's RSS; the
// responder's RSS is shown too. Root; namespaces pz-bench-*, a temporary cgroup, both
// removed at the end (also on Ctrl-C).
//   npx tsx bench/responder.ts [N ...]      (default: 100 300)
import { execa } from 'execa';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';

const SCRIPT = new URL('../emulator-configs/responder.py', import.meta.url).pathname;
const CGROUP_ROOTS = ['/sys/fs/cgroup/memory', '/sys/fs/cgroup/unified', '/sys/fs/cgroup'];
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const N = sizes.length ? sizes : [100, 300];

if (process.getuid?.() !== 0) { console.error('bench/responder.ts needs root (namespaces, a memory cgroup)'); process.exit(4); }

/** A memory cgroup (v1 memory controller, else v2), and how to read what it is charged. */
async function makeCgroup(): Promise<{ dir: string; usage: () => Promise<number> }> {
  for (const root of CGROUP_ROOTS) {
    const v1 = await access(`${root}/memory.usage_in_bytes`).then(() => true, () => false);
    const v2 = !v1 && (await readFile(`${root}/cgroup.controllers`, 'utf8').catch(() => '')).split(/\s+/).includes('memory');
    if (!v1 && !v2) continue;
    const dir = `${root}/fabric-lab-bench-${process.pid}`;
    await mkdir(dir);
    const file = v1 ? `${dir}/memory.usage_in_bytes` : `${dir}/memory.current`;
    return { dir, usage: async () => Number((await readFile(file, 'utf8')).trim()) };
  }
  console.error('no memory cgroup controller on this host (cgroup v1 memory or v2 with memory)');
  process.exit(4);
}

const cg = await makeCgroup();
const nsName = (i: number | 'node') => `pz-bench-${i}`;
let responder: ChildProcess | undefined;
let made: string[] = [];

/** A command run inside the cgroup, so what the kernel allocates for it is charged there. */
function inCgroup(argv: string[], input?: string) {
  return execa('sh', ['-c', `echo $$ > ${cg.dir}/cgroup.procs && exec "$@"`, 'sh', ...argv], { input, reject: false });
}

async function cleanup(): Promise<void> {
  responder?.kill('SIGKILL');
  if (responder && responder.exitCode === null) await new Promise((r) => responder!.once('exit', r));
  responder = undefined;
  if (made.length) await execa('ip', ['-batch', '-'], { input: made.map((x) => `netns del ${x}`).join('\n') + '\n', reject: false });
  made = [];
}

process.once('SIGINT', () => { void cleanup().then(() => rmdir(cg.dir).catch(() => undefined)).then(() => process.exit(130)); });

/** Settled usage: the kernel frees namespaces asynchronously, so read until two reads agree. */
async function settledUsage(): Promise<number> {
  let last = await cg.usage();
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await cg.usage();
    if (Math.abs(now - last) < 64 * 1024) return now;
    last = now;
  }
  return last;
}

async function measure(n: number): Promise<{ floor: number; withResponder: number; rss: number }> {
  const before = await settledUsage();
  const pods = Array.from({ length: n }, (_, i) => nsName(i));
  made = [nsName('node'), ...pods];
  // Link creation first, then addresses and routes (ip -batch takes no -n per line).
  const create = [...made.map((x) => `netns add ${x}`), ...pods.map((p, i) => `link add name cali${i} netns ${nsName('node')} type veth peer name eth0 netns ${p}`)];
  await inCgroup(['ip', '-batch', '-'], create.join('\n') + '\n');
  await inCgroup(['ip', '-n', nsName('node'), '-batch', '-'], pods.map((_, i) => `link set cali${i} up\nroute add 10.64.${i >> 8}.${i & 255}/32 dev cali${i} scope link`).join('\n') + '\n');
  await Promise.all(pods.map((p, i) => inCgroup(['ip', '-n', p, '-batch', '-'], `link set lo up\nlink set eth0 up\naddr add 10.64.${i >> 8}.${i & 255}/32 dev eth0\nroute add 169.254.1.1 dev eth0 scope link\nroute add default via 169.254.1.1 dev eth0\n`)));
  const floor = await settledUsage() - before;

  const config = `/tmp/pz-bench-${process.pid}.json`;
  const ready = `${config}.ready`;
  await writeFile(config, JSON.stringify({ ready, listeners: pods.map((p) => ({ name: p, netns: `/var/run/netns/${p}`, ports: [80, 81] })) }));
  responder = spawn('sh', ['-c', `echo $$ > ${cg.dir}/cgroup.procs && exec ip netns exec ${nsName('node')} /usr/bin/python3 ${SCRIPT} ${config}`], { stdio: 'ignore' });
  for (;;) {
    if (await access(ready).then(() => true, () => false)) break;
    if (responder.exitCode !== null) throw new Error(`responder exited with ${responder.exitCode}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const withResponder = await settledUsage() - before;
  const rss = Number(/VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${responder.pid}/status`, 'utf8'))![1]) * 1024;
  await cleanup();
  await rm(config, { force: true });
  await rm(ready, { force: true });
  return { floor, withResponder, rss };
}

const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
try {
  // The interpreter alone (no pods): what one node pays once for its responder.
  const empty = await measure(0);
  const once = empty.withResponder - empty.floor;
  console.log(`responder serving 0 pods: ${mib(once)} charged, RSS ${mib(empty.rss)} (paid once per node)`);
  for (const n of N) {
    const m = await measure(n);
    const perPodFloor = m.floor / n;
    const perPod = m.withResponder / n;
    const perPodResponder = (m.withResponder - m.floor - once) / n;
    console.log(`${n} pods: floor (namespaces + veths, no responder) ${mib(m.floor)} = ${kib(perPodFloor)}/pod; `
      + `with the responder ${mib(m.withResponder)} = ${kib(perPod)}/pod (${(m.withResponder / m.floor).toFixed(2)}x floor); `
      + `the responder adds ${kib(perPodResponder)}/pod over its own 0-pod cost; its RSS ${mib(m.rss)}`);
  }
} finally {
  await cleanup();
  await rmdir(cg.dir).catch(() => undefined);
}
