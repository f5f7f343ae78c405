// What the emulator created for a lab, on disk. Written BEFORE each thing is created
// (namespaces, directories) or right after a process is spawned, so an interrupted `up`
// can always be cleaned by `down`. Written atomically through src/state/json-file.ts; a
// damaged file is a typed result: `down` then finds the lab's things by their names.
import type { DeviceKind } from '../../plan/types.js';
import { checkFields, readJson, writeJsonAtomic, type JsonRead } from '../../state/json-file.js';
import { stateFile } from './names.js';

export interface DeviceRecord {
  name: string;
  kind: DeviceKind;
  ns: string;
  /** Daemons expected on the device (zebra, bgpd, bird). */
  daemons: string[];
  /** BIRD control socket (nodes running BIRD). */
  birdSocket?: string;
  /** Bind-mounted UTS namespace giving the device its hostname (absent in older states). */
  uts?: string;
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

function check(v: unknown): string | undefined {
  const bad = checkFields(v, { lab: 'string', startedAt: 'string', complete: 'boolean', networking: 'string', devices: 'array', namespaces: 'string[]', paths: 'string[]', processes: 'array' });
  if (bad) return bad;
  const s = v as EmulatorState;
  const dev = s.devices.findIndex((d) => checkFields(d, { name: 'string', kind: 'string', ns: 'string', daemons: 'string[]' }));
  if (dev >= 0) return `devices[${dev}] is malformed`;
  const proc = s.processes.findIndex((p) => checkFields(p, { device: 'string', daemon: 'string', ns: 'string', pid: 'number', startTime: 'string' }) || !Number.isInteger(p.pid) || p.pid <= 1);
  if (proc >= 0) return `processes[${proc}] is malformed`;
  return undefined;
}

/** The emulator state of a lab: ok, missing or damaged (with the reason). */
export async function loadState(k: string): Promise<JsonRead<EmulatorState>> {
  return readJson<EmulatorState>(stateFile(k), check);
}

/** The state when it can be read; undefined when missing; a damaged one counts as missing here. */
export async function readState(k: string): Promise<EmulatorState | undefined> {
  const r = await loadState(k);
  return r.kind === 'ok' ? r.value : undefined;
}

/** Serialises writes: concurrent daemon starts each append a process record. */
export class StateStore {
  private chain: Promise<void> = Promise.resolve();
  private queued?: Promise<void>;

  constructor(readonly state: EmulatorState) {}

  /** Apply a change and persist it atomically (temporary file, fsync, rename). */
  update(change: (s: EmulatorState) => void): Promise<void> {
    change(this.state);
    // Changes made while a write is waiting join it: the snapshot is taken when the write
    // starts, so it holds every change before it (a thousand daemon starts are a handful
    // of writes, not a thousand fsyncs of a growing file).
    if (!this.queued) {
      const file = stateFile(this.state.lab);
      this.queued = this.chain.then(() => {
        this.queued = undefined;
        return writeJsonAtomic(file, structuredClone(this.state));
      });
      this.chain = this.queued;
    }
    return this.queued;
  }
}
