// `down`: stop exactly the processes the lab started, delete its namespaces (which takes
// their veths with them), remove its files. Idempotent; touches nothing else.
import { rm } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Progress } from '../types.js';
import { labDir } from './names.js';
import { stopProcesses } from './processes.js';
import { existingNamespaces, ipBatch, pidsInNamespaces } from './run.js';
import { readState, type EmulatorState } from './state.js';

/** PIDs from pid files FRR/BIRD wrote, in case the state lost one (interrupted write). */
async function pidFilePids(state: EmulatorState): Promise<number[]> {
  const files = state.paths.filter((p) => p.startsWith('/var/run/frr/'))
    .flatMap((dir) => ['zebra.pid', 'bgpd.pid'].map((f) => path.join(dir, f)));
  const dir = path.join(labDir(state.lab), 'bird');
  files.push(...state.devices.filter((d) => d.birdSocket).map((d) => path.join(dir, `${d.name}.pid`)));
  const pids = await Promise.all(files.map(async (f) => Number((await readFile(f, 'utf8').catch(() => '')).trim())));
  return pids.filter((p) => Number.isInteger(p) && p > 0);
}

export async function teardown(lab: string, progress?: Progress): Promise<void> {
  const state = await readState(lab);
  if (!state) return;
  const end = progress?.phase('teardown');
  // Recorded PIDs are checked against their start time (a recycled PID is someone else's).
  // Pid-file PIDs count only when they live inside one of the lab's namespaces.
  const inNamespaces = new Set(await pidsInNamespaces(state.namespaces));
  const fromFiles = (await pidFilePids(state)).filter((p) => inNamespaces.has(p));
  const recorded = state.processes.map((p) => ({ pid: p.pid, startTime: p.startTime || undefined }));
  const seen = new Set(recorded.map((p) => p.pid));
  const extra = [...fromFiles, ...inNamespaces].filter((p) => !seen.has(p) && (seen.add(p), true)).map((pid) => ({ pid }));
  await stopProcesses([...recorded, ...extra]);

  const existing = await existingNamespaces();
  await ipBatch(undefined, state.namespaces.filter((ns) => existing.has(ns)).map((ns) => `netns del ${ns}`));
  await Promise.all(state.paths.map((p) => rm(p, { recursive: true, force: true })));
  await rm(labDir(lab), { recursive: true, force: true });
  end?.(`${state.processes.length} processes, ${state.namespaces.length} namespaces`);
}
