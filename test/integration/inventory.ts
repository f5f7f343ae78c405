// An exact inventory of what fabric-lab could leave behind, and of the host's own network,
// for the leak tests: after `down` every lab-side list must be empty and the host's
// addresses, routes, rules, iptables and sysctls exactly as before.
import { execa } from 'execa';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';

const DAEMONS = new Set(['bgpd', 'zebra', 'bird', 'tcpdump', 'staticd', 'watchfrr']);

/** PIDs of routing daemons and tcpdump now (zombies excluded). */
export async function daemonPids(): Promise<Map<number, string>> {
  const out = new Map<number, string>();
  for (const d of (await readdir('/proc')).filter((x) => /^\d+$/.test(x))) {
    const st = await readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    const comm = st.slice(st.indexOf('(') + 1, st.lastIndexOf(')'));
    const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
    if (DAEMONS.has(comm) && state !== 'Z' && state !== 'X') out.set(Number(d), `${comm} ${(await readFile(`/proc/${d}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim()}`);
  }
  return out;
}

/** Every file (not directory) under dir, relative. */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  await walk(dir);
  return out.sort();
}

/** The network namespace inode of a PID (`net:[4026532...]`), or '' once it is gone. */
const netnsOf = (pid: number) => readlink(`/proc/${pid}/ns/net`).catch(() => '');

/**
 * A tcpdump outside every other lab's live namespace that is still running 3 s later: one
 * that exits meanwhile (another test's capture ending, or its lab's `down` just deleted the
 * namespace under it) was finishing, not left behind; one gone before its namespace could
 * be read is no leftover at all.
 */
async function strayCapture(pid: number, others: Set<string>): Promise<boolean> {
  const ns = await netnsOf(pid);
  if (!ns || others.has(ns)) return false;
  for (const deadline = Date.now() + 3000; Date.now() < deadline;) {
    if (!(await alive(pid))) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return alive(pid);
}

/** Inodes of the named network namespaces that exist now and are not ours. */
async function otherNamespaces(mine: (name: string) => boolean): Promise<Set<string>> {
  const names = (await readdir('/var/run/netns').catch(() => [] as string[])).filter((n) => !mine(n));
  const inodes = await Promise.all(names.map((n) => stat(`/var/run/netns/${n}`).then((s) => `net:[${s.ino}]`, () => '')));
  return new Set(inodes.filter(Boolean));
}

export interface Baseline { host: string; daemons: Map<number, string> }

/** The host network namespace as text: addresses, routes, rules, iptables, net.* sysctls. */
export async function hostNetwork(): Promise<string> {
  const run = async (cmd: string, args: string[]) => (await execa(cmd, args, { reject: false })).stdout;
  const ipt = (await run('iptables-save', [])).split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n');
  return [
    await run('ip', ['-o', 'addr']), await run('ip', ['route', 'show', 'table', 'all']), await run('ip', ['rule']),
    await run('ip', ['-o', 'link']).then((s) => s.split('\n').map((l) => l.replace(/\s+link\/.*$/, '')).join('\n')),
    ipt, await run('sysctl', ['-a', '--pattern', '^net\\.']),
  ].join('\n----\n');
}

export async function baseline(): Promise<Baseline> {
  return { host: await hostNetwork(), daemons: await daemonPids() };
}

/**
 * What is left of labs whose names start with `labPrefix` (namespaces, FRR dirs, socket
 * dirs, files under the state root, daemons started since the baseline) and how the host
 * network differs from the baseline. Empty when nothing leaked.
 */
export async function leaks(labPrefix: string, stateRoot: string, base: Baseline): Promise<string[]> {
  const left: string[] = [];
  const mine = (n: string) => n.startsWith(`fl_${labPrefix}`);
  left.push(...(await readdir('/var/run/netns').catch(() => [] as string[])).filter(mine).map((n) => `netns ${n}`));
  for (const dir of ['/etc/frr', '/var/run/frr']) left.push(...(await readdir(dir).catch(() => [] as string[])).filter(mine).map((n) => `${dir}/${n}`));
  left.push(...(await readdir('/run/fabric-lab').catch(() => [] as string[])).filter((n) => n.startsWith(labPrefix)).map((n) => `/run/fabric-lab/${n}`));
  left.push(...(await filesUnder(stateRoot)).map((f) => `file ${path.join(stateRoot, f)}`));
  // Daemons started since the baseline for these labs (other test files run labs at the
  // same time: fabric-live's `fct*` pathspaces, verify's captures), and any new tcpdump
  // that is not inside another lab's live namespace (one in a deleted namespace leaked).
  const others = await otherNamespaces(mine);
  for (const [pid, what] of await daemonPids()) {
    if (base.daemons.has(pid)) continue;
    const ours = what.includes(`fl_${labPrefix}`) || what.includes(stateRoot);
    if (ours || (what.startsWith('tcpdump') && await strayCapture(pid, others))) left.push(`process ${pid} ${what}`);
  }
  const host = await hostNetwork();
  if (host !== base.host) {
    const a = base.host.split('\n');
    const b = host.split('\n');
    left.push(...b.filter((l) => !a.includes(l)).map((l) => `host network + ${l}`), ...a.filter((l) => !b.includes(l)).map((l) => `host network - ${l}`));
  }
  return left;
}

/**
 * A process as the kernel knows it: its PID and start time (field 22 of /proc/PID/stat),
 * or undefined when it is gone. A PID alone is not one process for long: pid_max is 32768
 * here and the whole suite forks thousands a second, so a dead one's PID comes back.
 */
export async function processId(pid: number): Promise<{ pid: number; start: string } | undefined> {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  if (!st) return undefined;
  const fields = st.slice(st.lastIndexOf(')') + 2).split(' ');
  return fields[0] === 'Z' || fields[0] === 'X' ? undefined : { pid, start: fields[19] };
}

/** Whether that very process still runs (not a zombie, not another one with its PID). */
export async function stillRunning(p: { pid: number; start: string }): Promise<boolean> {
  return (await processId(p.pid))?.start === p.start;
}

/** Whether a PID is alive (not a zombie). */
export async function alive(pid: number): Promise<boolean> {
  const st = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const state = st.slice(st.lastIndexOf(')') + 2, st.lastIndexOf(')') + 3);
  return !!st && state !== 'Z' && state !== 'X';
}
