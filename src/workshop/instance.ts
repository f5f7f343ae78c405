// Instances (DESIGN 8.4): an isolated copy of a lab, keyed `LAB_INSTANCE` everywhere the
// tool keys what runs (registry, emulator state, namespaces, artifacts). Lab and instance
// names are [a-z0-9-] only, so the `_` makes the key injective: no lab name, and no other
// (lab, instance) pair, gives the same key.
import { badInput } from '../errors.js';
import type { Provider } from '../providers/types.js';
import type { Plan } from '../plan/types.js';
import type { NetworkPolicy } from '../policy/types.js';

export const INSTANCE_RE = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;
const RULE = '1-20 lowercase letters, digits and "-", starting and ending with a letter or digit';

/** The instance name of --instance, validated like a lab name (exit 2 otherwise). */
export function checkInstance(name: string | undefined, what = '--instance'): string | undefined {
  if (name === undefined) return undefined;
  if (!INSTANCE_RE.test(name)) throw badInput(`${what} "${name}" is not a valid instance name (allowed: ${RULE})`);
  return name;
}

export interface RunRef { lab: string; instance?: string }

/** The key of a running copy: the lab name alone for the default instance. */
export const runKey = (lab: string, instance?: string): string => (instance ? `${lab}_${instance}` : lab);

export function parseRunKey(key: string): RunRef {
  const i = key.indexOf('_');
  return i < 0 ? { lab: key } : { lab: key.slice(0, i), instance: key.slice(i + 1) };
}

/** How a user names a running copy in messages and commands. */
export const displayRef = (r: RunRef): string => (r.instance ? `${r.lab} --instance ${r.instance}` : r.lab);

/**
 * The provider as seen by one instance: every lab name it is given (the plan's, a command's)
 * is mapped to the instance's key, so verify and every observer work unchanged.
 */
export function bindInstance(p: Provider, instance: string | undefined): Provider {
  if (!instance) return p;
  // Every method that takes a lab name is mapped below: a new one must be added here too.
  if (!p.capabilities.instances) throw badInput(`--instance runs only on the emulator provider (not ${p.name})`);
  const k = (lab: string) => runKey(lab, instance);
  return {
    ...p,
    up: (plan, dir, progress, signal) => p.up({ ...plan, name: k(plan.name) }, dir, progress, signal),
    down: (lab, progress) => p.down(k(lab), progress),
    status: async (lab) => ({ ...(await p.status(k(lab))), lab }),
    exec: (lab, device, argv, o) => p.exec(k(lab), device, argv, o),
    execBatch: (lab, device, commands, o) => p.execBatch(k(lab), device, commands, o),
    shell: (lab, device, o) => p.shell(k(lab), device, o),
    capture: (lab, device, iface, args, o) => p.capture(k(lab), device, iface, args, o),
    ...(p.daemon ? { daemon: (lab: string, device: string, d: 'zebra' | 'bgpd' | 'bird', a: 'stop' | 'start') => p.daemon!(k(lab), device, d, a) } : {}),
    ...(p.enforcePolicies ? { enforcePolicies: (lab: string, plan: Plan, policies: NetworkPolicy[], signal?: AbortSignal) => p.enforcePolicies!(k(lab), plan, policies, signal) } : {}),
  };
}

/** Instance names of `--instances`: a count (s01..sNN) or a comma list of names. */
export function classNames(spec: string): string[] {
  if (/^\d+$/.test(spec)) {
    const n = Number(spec);
    if (n < 1 || n > 200) throw badInput(`--instances ${spec}: give 1 to 200, or a comma list of names`);
    const width = Math.max(2, String(n).length);
    return Array.from({ length: n }, (_, i) => `s${String(i + 1).padStart(width, '0')}`);
  }
  const names = spec.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names.length) throw badInput('--instances: give a count or a comma list of names');
  const bad = names.filter((n) => !INSTANCE_RE.test(n));
  if (bad.length) throw badInput(`--instances: ${bad.map((b) => `"${b}"`).join(', ')} ${bad.length > 1 ? 'are not valid instance names' : 'is not a valid instance name'} (allowed: ${RULE})`);
  const dup = names.filter((n, i) => names.indexOf(n) !== i);
  if (dup.length) throw badInput(`--instances: ${[...new Set(dup)].join(', ')} given more than once`);
  return names;
}
