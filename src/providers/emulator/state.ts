// What the emulator created for a lab, on disk. Written BEFORE each thing is created
// (namespaces, directories) or right after a process is spawned, so an interrupted `up`
// can always be cleaned by `down`.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { DeviceKind } from '../../plan/types.js';
import { stateFile } from './names.js';

export interface DeviceRecord {
  name: string;
  kind: DeviceKind;
  ns: string;
  /** Daemons expected on the device (zebra, bgpd, bird). */
  daemons: string[];
  /** BIRD control socket (nodes running BIRD). */
  birdSocket?: string;
}

export interface ProcessRecord {
  device: string;
  daemon: string;
  ns: string;
  pid: number;
  /** /proc/PID/stat start time, so a recycled PID is never killed. */
  startTime: string;
}

export interface EmulatorState {
  lab: string;
  startedAt: string;
  /** True once `up` finished (converged). */
  complete: boolean;
  networking: string;
  devices: DeviceRecord[];
  /** Every namespace that may exist, recorded before it is created. */
  namespaces: string[];
  /** Directories and files outside the lab directory to remove on `down`. */
  paths: string[];
  processes: ProcessRecord[];
}

export async function readState(lab: string): Promise<EmulatorState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile(lab), 'utf8')) as EmulatorState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Serialises writes: concurrent daemon starts each append a process record. */
export class StateStore {
  private chain: Promise<void> = Promise.resolve();

  constructor(readonly state: EmulatorState) {}

  /** Apply a change and persist it atomically (write + rename). */
  update(change: (s: EmulatorState) => void): Promise<void> {
    change(this.state);
    const text = JSON.stringify(this.state, null, 2) + '\n';
    const file = stateFile(this.state.lab);
    this.chain = this.chain.then(async () => {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(`${file}.tmp`, text);
      await rename(`${file}.tmp`, file);
    });
    return this.chain;
  }
}
