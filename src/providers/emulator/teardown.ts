// `down`: stop exactly the processes the lab started, delete its namespaces (which takes
// their veths with them), remove its files. Idempotent; touches nothing else.
//
// The state file says what `up` created, but it is not trusted blindly (it may be damaged,
// missing, or edited by hand): `down` acts only on names it owns (namespaces and FRR
// pathspaces `fl_<lab>_<device>`, paths under the lab's own directories), and kills only
// processes that live in (or were started for) the lab's own namespaces and whose start time
// is the one seen now or recorded. Records that fail these rules are reported, not acted on.
// Whatever the state says, the lab's own names found on the host are cleaned too.
import { readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import type { Progress } from '../types.js';
import { FRR_CONF_ROOT, FRR_RUN_ROOT, labDir, ownsNamespace, ownsPath, socketDir, frrConfDir, frrRunDir, utsDir } from './names.js';
import { procInfo, stopProcesses } from './processes.js';
import { existingNamespaces, ipBatch, removeUtsNamespaces } from './run.js';
import { loadState, type EmulatorState } from './state.js';
import { releaseNeighbourLimits } from './neigh.js';

const NETNS_DIR = '/var/run/netns';

export interface TeardownReport {
  /** Whether anything of the lab existed (state or names on the host). */
  found: boolean;
  processes: number;
  namespaces: number;
  /** What could not be read or was refused, for the user. */
  warnings: string[];
}

/** Processes that belong to the lab: inside its namespaces, or started with one of its names. */
async function labProcesses(k: string, namespaces: string[]): Promise<{ pid: number; startTime: string }[]> {
  const inodes = new Set<string>();
  for (const ns of namespaces) {
    const st = await stat(`${NETNS_DIR}/${ns}`).catch(() => undefined);
    if (st) inodes.add(`net:[${st.ino}]`);
  }
  const dir = labDir(k);
  const pids = (await readdir('/proc')).filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => p !== process.pid);
  const found = await Promise.all(pids.map(async (pid) => {
    const net = await readlink(`/proc/${pid}/ns/net`).catch(() => '');
    let ours = !!net && inodes.has(net);
    if (!ours) {
      // A daemon whose namespace was already deleted still names it (`-N fl_lab_dev`) or a file of the lab.
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      ours = args.some((a, i) => (args[i - 1] === '-N' && ownsNamespace(k, a)) || a.startsWith(dir + '/'));
    }
    if (!ours) return undefined;
    const info = await procInfo(pid);
    return info && info.state !== 'Z' && info.startTime ? { pid, startTime: info.startTime } : undefined;
  }));
  return found.filter((p): p is { pid: number; startTime: string } => !!p);
}

/** Entries of /etc/frr and /var/run/frr that are the lab's own pathspaces. */
async function frrDirs(k: string): Promise<string[]> {
  const out: string[] = [];
  for (const [root, of] of [[FRR_CONF_ROOT, frrConfDir], [FRR_RUN_ROOT, frrRunDir]] as const) {
    const names = await readdir(root).catch(() => [] as string[]);
    out.push(...names.filter((n) => ownsNamespace(k, n)).map(of));
  }
  return out;
}

const exists = (p: string) => stat(p).then(() => true, () => false);

async function removeTree(p: string): Promise<void> {
  // A daemon that just exited may still be removing its own socket: retry once.
  await rm(p, { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
}

export async function teardown(k: string, progress?: Progress): Promise<TeardownReport> {
  const warnings: string[] = [];
  const read = await loadState(k);
  let state: EmulatorState | undefined;
  if (read.kind === 'ok') state = read.value;
  else if (read.kind === 'damaged') warnings.push(`the state file ${read.file} is damaged (${read.reason}): found the lab's namespaces, daemons and files by their names instead`);

  const refused = new Set<string>();
  const refuse = (what: string) => { if (!refused.has(what)) { refused.add(what); warnings.push(what); } };
  for (const ns of state?.namespaces ?? []) if (!ownsNamespace(k, ns)) refuse(`not deleting namespace "${ns.slice(0, 80)}" listed in the state: it is not one of this lab's names`);
  for (const p of state?.paths ?? []) if (!ownsPath(k, p)) refuse(`not removing "${p.slice(0, 120)}" listed in the state: it is outside this lab's directories`);

  let processes = 0;
  let namespaces = 0;
  let found = read.kind !== 'missing';
  // Twice at most: an `up` killed with SIGKILL may have had a command in flight that
  // created one more namespace while the first pass ran.
  for (let pass = 0; pass < 2; pass++) {
    const existing = [...await existingNamespaces()].filter((ns) => ownsNamespace(k, ns));
    const procs = await labProcesses(k, existing);
    if (pass === 0) {
      const seen = new Set(procs.map((p) => p.pid));
      for (const p of state?.processes ?? []) {
        if (seen.has(p.pid)) continue;
        const info = await procInfo(p.pid);
        if (!info || info.state === 'Z') continue; // gone
        if (!p.startTime) refuse(`not stopping PID ${p.pid} (${p.daemon} on ${p.device}): recorded without a start time`);
        else if (info.startTime === p.startTime) refuse(`not stopping PID ${p.pid} (${p.daemon} on ${p.device}): it is not in this lab's namespaces`);
        // a different start time: the PID was recycled by an unrelated process
      }
    }
    if (!existing.length && !procs.length) break;
    found = true;
    await stopProcesses(procs);
    processes += procs.length;
    // -force: go on past a namespace deleted meanwhile.
    await ipBatch(undefined, existing.map((ns) => `netns del ${ns}`), { force: true }).catch((e: Error) => warnings.push(e.message));
    namespaces += existing.length;
  }

  // The devices' UTS namespaces are bind mounts under the lab directory: unmounted first.
  if (await removeUtsNamespaces(utsDir(k))) found = true;
  const paths = new Set([...(state?.paths ?? []).filter((p) => ownsPath(k, p)), ...await frrDirs(k), labDir(k), socketDir(k)]);
  const present = (await Promise.all([...paths].map(async (p) => ((await exists(p)) ? p : undefined)))).filter((p): p is string => !!p);
  if (present.length) found = true;
  await Promise.all(present.map(removeTree));
  if (found) progress?.info(`${processes} processes stopped, ${namespaces} namespaces deleted, ${present.length} directories removed`);
  const restored = await releaseNeighbourLimits(k).catch((e: Error) => { warnings.push(`could not restore the neighbour table limits: ${e.message}`); return undefined; });
  if (restored) progress?.info(restored);
  return { found, processes, namespaces, warnings };
}
