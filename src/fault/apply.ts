// Faults: the side effects. Runs the commands model.ts decides on through the provider
// (so the same code drives `ip netns exec` and SSH), records each fault with its undo
// in the fault file, and undoes them. A fault that fails half-way is rolled back.
import { ExitCode, LabError, hostLacks } from '../errors.js';
import type { Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import {
  cannotApply, describeImpairment, downEnds, faultKey, impairmentCommands, linkName, vtyConfig,
  type FaultRecord, type FaultRequest, type Step,
} from './model.js';
import { readFaults, writeFaults } from './store.js';
import { VXLAN_DEV, VXLAN_READ, vxlanSnapshot } from './vxlan.js';

const TIMEOUT_MS = 20_000;
/** tc's answer where the kernel has no netem (module sch_netem absent, none to load). */
const NO_NETEM = /qdisc kind is unknown|Unknown qdisc/i;

export interface Outcome { message: string; faults: FaultRecord[] }

async function exec(provider: Provider, lab: string, device: string, argv: string[]): Promise<string> {
  const r = await provider.exec(lab, device, argv, { timeoutMs: TIMEOUT_MS });
  // vtysh reports a rejected configuration line on stdout with exit 0 in some versions.
  const vtyError = argv[0] === 'vtysh' && /^%/m.test(r.stdout);
  if (r.exitCode !== 0 || vtyError) {
    throw new LabError(`${device}: \`${argv.join(' ')}\` failed: ${(r.stderr.trim() || r.stdout.trim() || `exit code ${r.exitCode}`).split('\n').slice(0, 3).join(' / ')}`, ExitCode.hostLacks);
  }
  return r.stdout;
}

async function runStep(provider: Provider, lab: string, step: Step): Promise<void> {
  if (step.op === 'exec') {
    await exec(provider, lab, step.device, step.argv);
    return;
  }
  if (!provider.daemon) throw hostLacks(`the ${provider.name} provider cannot stop or start single daemons; use \`lab exec ${lab} ${step.device} -- systemctl ${step.action} frr\``);
  await provider.daemon(lab, step.device, step.daemon, step.action);
}

/** Run steps in order; if one fails, undo the ones done (in reverse) and rethrow. */
async function applySteps(provider: Provider, lab: string, steps: { apply: Step; undo?: Step }[]): Promise<Step[]> {
  const undo: Step[] = [];
  for (const s of steps) {
    try {
      await runStep(provider, lab, s.apply);
    } catch (e) {
      for (const u of undo) await runStep(provider, lab, u).catch(() => undefined);
      throw e;
    }
    if (s.undo) undo.unshift(s.undo);
  }
  return undo;
}

const execStep = (device: string, argv: string[]): Step => ({ op: 'exec', device, argv });

/** Apply one request (not list/clear) and record it. */
/** `lab` is what the provider calls the lab; `key` keys the fault file (the instance's key). */
export async function applyFault(plan: Plan, provider: Provider, lab: string, req: FaultRequest, storeKey = lab): Promise<Outcome> {
  const cannot = cannotApply(plan, provider.capabilities, provider.name, lab, req);
  if (cannot) throw hostLacks(cannot);
  const faults = await readFaults(storeKey);
  const key = faultKey(req);
  const existing = faults.find((f) => f.key === key);
  const save = async (rec: Omit<FaultRecord, 'key' | 'at'> | undefined, message: string) => {
    const rest = faults.filter((f) => f.key !== key);
    const next = rec ? [...rest, { ...rec, key, at: new Date().toISOString() }] : rest;
    await writeFaults(storeKey, next);
    return { message, faults: next };
  };
  const undoExisting = async () => { if (existing) await undoFault(provider, lab, existing); };

  switch (req.what) {
    case 'link': {
      const name = linkName(req.link);
      if (req.state === 'up') {
        if (!existing) return { message: `${name} is not down (no link fault on it); nothing to do`, faults };
        await undoFault(provider, lab, existing);
        return save(undefined, `${name} is up again`);
      }
      if (existing) return { message: `${name} is already down`, faults };
      const steps: { apply: Step; undo?: Step }[] = [];
      for (const e of downEnds(plan, req.link)) {
        const { device, iface } = req.link[e];
        const isSwitch = plan.switches.some((s) => s.name === device);
        if (isSwitch) {
          steps.push({ apply: execStep(device, ['ip', 'link', 'set', 'dev', iface, 'down']), undo: execStep(device, ['ip', 'link', 'set', 'dev', iface, 'up']) });
        } else {
          // The kernel drops a host's routes through a port taken down (FRR would put a
          // switch's back, nothing does on a node): save them to restore on undo.
          const saved = (await exec(provider, lab, device, ['sh', '-c', `ip route save dev ${iface} | base64 -w0`])).trim();
          steps.push({
            apply: execStep(device, ['ip', 'link', 'set', 'dev', iface, 'down']),
            undo: execStep(device, ['sh', '-c', `ip link set dev ${iface} up${saved ? ` && echo ${saved} | base64 -d | ip route restore 2>/dev/null; true` : ''}`]),
          });
        }
      }
      const undo = await applySteps(provider, lab, steps);
      const ends = downEnds(plan, req.link).map((e) => `${req.link[e].device} ${req.link[e].iface}`).join(' and ');
      return save({ kind: 'link', target: name, detail: `down (${ends} set down)`, devices: [req.link.a.device, req.link.b.device], undo }, `${name} is down`);
    }
    case 'netem': {
      // Ask the kernel first, on the first sending end, with the real command (`replace`
      // is atomic: refused, it changes nothing). Only once the impairment is known to be
      // possible is an earlier one on this link undone: a refusal leaves the lab as it was.
      const first = req.link[req.ends[0]];
      const netemCmds = impairmentCommands(first.iface, req.impairment, true) as { apply: string[][] };
      const probe = await provider.exec(lab, first.device, netemCmds.apply[0], { timeoutMs: TIMEOUT_MS });
      const netem = probe.exitCode === 0;
      if (!netem && !NO_NETEM.test(probe.stderr)) {
        throw new LabError(`${first.device}: \`${netemCmds.apply[0].join(' ')}\` failed: ${probe.stderr.trim() || `exit code ${probe.exitCode}`}; nothing was changed`, ExitCode.hostLacks);
      }
      if (!netem) {
        const fb = impairmentCommands(first.iface, req.impairment, false);
        if ('lacks' in fb) throw hostLacks(`${first.device}: ${fb.lacks}`);
      }
      // The probe's netem (if any) is replaced or removed by the earlier fault's undo; applied again below.
      await undoExisting();
      const steps: { apply: Step; undo?: Step }[] = [];
      for (const e of req.ends) {
        const { device, iface } = req.link[e];
        const cmds = impairmentCommands(iface, req.impairment, netem) as { apply: string[][]; undo: string[][] };
        cmds.apply.forEach((a, i) => steps.push({ apply: execStep(device, a), undo: execStep(device, cmds.undo[i]) }));
      }
      const undo = await applySteps(provider, lab, steps);
      const what = describeImpairment(req.impairment);
      const dirs = req.ends.length === 2 ? 'both directions' : `from ${req.link[req.ends[0]].device}`;
      return save({
        kind: 'netem', target: linkName(req.link), detail: `${what}, ${dirs}${netem ? '' : ' (tbf/nftables: no netem in this kernel)'}`,
        devices: [req.link.a.device, req.link.b.device], undo,
      }, `${linkName(req.link)}: ${what}, ${dirs}`);
    }
    case 'daemon': {
      const target = `${req.device} ${req.daemon}`;
      if (!provider.daemon) throw hostLacks(`the ${provider.name} provider cannot stop or start single daemons (use \`lab exec ${lab} ${req.device} -- systemctl ${req.action} frr\`); daemon faults need the emulator`);
      if (req.action === 'start') {
        const r = await provider.daemon(lab, req.device, req.daemon, 'start');
        return save(undefined, r === 'already' ? `${target} is already running` : `${target} started (tracked by status and down)`);
      }
      if (existing) return { message: `${target} is already stopped`, faults };
      const r = await provider.daemon(lab, req.device, req.daemon, 'stop');
      if (r === 'already') return { message: `${target} was not running; nothing to do (start it with \`lab fault ${lab} daemon ${req.device} ${req.daemon} start\`)`, faults };
      return save({ kind: 'daemon', target, detail: `${req.daemon} stopped`, devices: [req.device], undo: [{ op: 'daemon', device: req.device, daemon: req.daemon, action: 'start' }] }, `${target} stopped`);
    }
    case 'peer-asn': {
      await undoExisting();
      const set = (asn: number) => execStep(req.speaker, vtyConfig(req.localAsn, [`neighbor ${req.peerIp} remote-as ${asn}`]));
      const undo = await applySteps(provider, lab, [{ apply: set(req.wrongAsn), undo: set(req.correctAsn) }]);
      return save({
        kind: 'config', target: `${req.speaker} neighbor ${req.peerIp} (${req.peer})`,
        detail: `wrong peer ASN: remote-as ${req.wrongAsn} instead of ${req.correctAsn}`, devices: [req.speaker, req.peer], undo,
      }, `${req.speaker} now expects AS ${req.wrongAsn} from ${req.peer} (${req.peerIp}), which is AS ${req.correctAsn}`);
    }
    case 'mtu': {
      await undoExisting();
      const { device, iface } = req.link[req.end];
      const other = req.link[req.end === 'a' ? 'b' : 'a'];
      const was = (JSON.parse(await exec(provider, lab, device, ['ip', '-j', 'link', 'show', 'dev', iface])) as { mtu: number }[])[0]?.mtu;
      const set = (m: number) => execStep(device, ['ip', 'link', 'set', 'dev', iface, 'mtu', String(m)]);
      const undo = await applySteps(provider, lab, [{ apply: set(req.mtu), undo: set(was) }]);
      return save({
        kind: 'config', target: `${device} ${iface} (to ${other.device} ${other.iface})`, detail: `MTU mismatch: ${req.mtu} instead of ${was}`,
        devices: [device, other.device], undo,
      }, `${device} ${iface} has MTU ${req.mtu}, ${other.device} ${other.iface} keeps ${was}`);
    }
    case 'blackhole': {
      if (existing) return { message: `${req.device} already blackholes ${req.prefix}`, faults };
      // prepend: ahead of a route to the same prefix with the same metric (Calico's), and
      // metric 0 beats FRR's 20, so the kernel uses the blackhole.
      const undo = await applySteps(provider, lab, [{
        apply: execStep(req.device, ['ip', 'route', 'prepend', 'blackhole', req.prefix]),
        undo: execStep(req.device, ['ip', 'route', 'del', 'blackhole', req.prefix]),
      }]);
      return save({ kind: 'config', target: `${req.device} ${req.prefix}`, detail: `blackhole route: packets to ${req.prefix} are dropped on ${req.device}`, devices: [req.device], undo }, `${req.device} drops packets to ${req.prefix}`);
    }
    case 'vni': {
      await undoExisting();
      let snap;
      try {
        snap = vxlanSnapshot(await exec(provider, lab, req.node, VXLAN_READ));
      } catch (e) {
        throw new LabError(`${req.node}: could not read ${VXLAN_DEV}: ${(e as Error).message}`, ExitCode.hostLacks);
      }
      const undo = await applySteps(provider, lab, [{
        apply: execStep(req.node, ['sh', '-c', snap.script(req.vni)]),
        undo: execStep(req.node, ['sh', '-c', snap.script(snap.vni)]),
      }]);
      return save({ kind: 'config', target: `${req.node} ${VXLAN_DEV}`, detail: `VXLAN VNI ${req.vni} instead of ${snap.vni}`, devices: [req.node], undo }, `${req.node}'s ${VXLAN_DEV} now uses VNI ${req.vni} (the others ${snap.vni})`);
    }
    default:
      throw new Error(`applyFault: ${req.what}`);
  }
}

export async function undoFault(provider: Provider, lab: string, f: FaultRecord): Promise<void> {
  for (const s of f.undo) await runStep(provider, lab, s);
}

/** Undo every fault, newest first. Those that fail stay recorded; the message says why. */
export async function clearFaults(provider: Provider, lab: string, key = lab): Promise<{ cleared: FaultRecord[]; failed: { fault: FaultRecord; error: string }[] }> {
  const faults = await readFaults(key);
  const cleared: FaultRecord[] = [];
  const failed: { fault: FaultRecord; error: string }[] = [];
  for (const f of [...faults].reverse()) {
    try {
      await undoFault(provider, lab, f);
      cleared.push(f);
    } catch (e) {
      failed.push({ fault: f, error: e instanceof Error ? e.message : String(e) });
    }
  }
  await writeFaults(key, faults.filter((f) => !cleared.includes(f)));
  return { cleared, failed };
}
