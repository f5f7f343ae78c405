// Processes the emulator started: liveness from /proc (zombies count as gone: daemons
// re-parented to PID 1 stay <defunct> until it reaps them) and a careful stop.
import { readFile } from 'node:fs/promises';

export interface ProcInfo { state: string; startTime: string }

/** State letter and start time of a PID, or undefined if there is no such process. */
export async function procInfo(pid: number): Promise<ProcInfo | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0], startTime: rest[19] };
  } catch {
    return undefined;
  }
}

/** Alive: exists, is not a zombie and (if given) started when we recorded it. */
export async function isAlive(pid: number, startTime?: string): Promise<boolean> {
  const info = await procInfo(pid);
  if (!info || info.state === 'Z' || info.state === 'X') return false;
  return startTime === undefined || info.startTime === startTime;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * SIGTERM each process, wait until all have exited (polling /proc), SIGKILL what is
 * still there after `graceMs`, and wait again.
 */
export async function stopProcesses(procs: { pid: number; startTime?: string }[], graceMs = 3000): Promise<void> {
  let alive = await filterAlive(procs);
  for (const p of alive) signal(p.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive.length && Date.now() < deadline) {
    await sleep(10);
    alive = await filterAlive(alive);
  }
  if (!alive.length) return;
  for (const p of alive) signal(p.pid, 'SIGKILL');
  const killDeadline = Date.now() + 2000;
  while (alive.length && Date.now() < killDeadline) {
    await sleep(10);
    alive = await filterAlive(alive);
  }
}

async function filterAlive<T extends { pid: number; startTime?: string }>(procs: T[]): Promise<T[]> {
  const flags = await Promise.all(procs.map((p) => isAlive(p.pid, p.startTime)));
  return procs.filter((_, i) => flags[i]);
}
