// What the libvirt provider remembers about a running lab, in its artifacts folder beside
// Vagrant's own `.vagrant/`: the namespace libvirt runs in, the VMs and what they are, the
// pods (for `kubectl exec`), what libvirt objects `up` created, and SSH details (asking
// `vagrant ssh-config` costs seconds, so it is asked once and again only when stale).
import path from 'node:path';
import { checkFields, readJson, removeJson, writeJsonAtomic } from '../../state/json-file.js';
import type { Plan } from '../../plan/types.js';
import type { SshConfigEntry } from './vagrant.js';
import { findRunning } from '../registry.js';
import { ExitCode, LabError, notRunning } from '../../errors.js';

export interface MachineInfo { name: string; kind: 'spine' | 'leaf' | 'lan-switch' | 'node' }
export interface PodInfo { name: string; namespace: string; workload: string; node: string; ip: string }

export interface LibvirtLabState {
  lab: string;
  artifactsDir: string;
  netns?: string;
  machines: MachineInfo[];
  pods: PodInfo[];
  controlPlane?: string;
  /** Domain name prefix (vagrant-libvirt `default_prefix`), learnt from the domains. */
  domainPrefix?: string;
  /** libvirt networks that appeared during `up` (removed by `down` when unused). */
  createdNetworks: string[];
  ssh: Record<string, SshConfigEntry>;
}

export const STATE_FILE = '.libvirt-lab.json';
const stateFile = (dir: string) => path.join(dir, STATE_FILE);

export function initialState(plan: Plan, artifactsDir: string, netns: string | undefined): LibvirtLabState {
  return {
    lab: plan.name,
    artifactsDir,
    netns,
    machines: [
      ...plan.switches.map((s) => ({ name: s.name, kind: s.kind })),
      ...plan.nodes.map((n) => ({ name: n.name, kind: 'node' as const })),
    ],
    pods: plan.pods.map((p) => ({ name: p.name, namespace: p.namespace, workload: p.workload, node: p.node, ip: p.ip })),
    controlPlane: plan.cluster?.controlPlane,
    createdNetworks: [],
    ssh: {},
  };
}

export async function saveState(s: LibvirtLabState): Promise<void> {
  await writeJsonAtomic(stateFile(s.artifactsDir), s);
}

/** The state, or undefined when there is none; a damaged file is an error that says where it is and what to do. */
export async function readState(artifactsDir: string): Promise<LibvirtLabState | undefined> {
  const r = await readJson<LibvirtLabState>(stateFile(artifactsDir), (v) => checkFields(v, { lab: 'string', artifactsDir: 'string', machines: 'array', pods: 'array', createdNetworks: 'string[]', ssh: 'object' }));
  if (r.kind === 'damaged') {
    throw new LabError(`the libvirt state ${r.file} is damaged (${r.reason}): the VMs may still run; remove them with \`vagrant destroy -f\` in ${artifactsDir} (as root, in the libvirt namespace)`, ExitCode.hostLacks);
  }
  return r.kind === 'ok' ? r.value : undefined;
}

export const removeState = (artifactsDir: string) => removeJson(stateFile(artifactsDir));

/** The state of a lab that must be running (exit 3 otherwise). */
export async function runningState(lab: string): Promise<LibvirtLabState> {
  const running = await findRunning(lab);
  if (!running || running.provider !== 'libvirt') throw notRunning(`${lab} is not running on libvirt`);
  const state = await readState(running.artifactsDir);
  if (!state) throw notRunning(`${lab} has no libvirt state in ${running.artifactsDir}: it was never brought up (or was removed)`);
  return state;
}
