// The observation layer: the one way anything reads a running lab (lab up's convergence
// wait, verify, and trace/graph/fault next). Side effects live here; what it returns is
// plain data that pure code judges.
//
// API (import from 'src/observe/index.js'):
//   observeSwitch(provider, lab, device, timeoutMs?) -> SwitchObservation
//       FRR's RIB + BGP summary (one vtysh call), the kernel's routes and interfaces
//       (LINKS_QUERY: MTU, up), in ONE exec.
//   observeNode(provider, lab, device, speaksBgp, timeoutMs?) -> NodeObservation
//       BIRD's protocols (when the node speaks BGP and the provider has `bird`) and the
//       kernel's routes and interfaces, in ONE exec.
//   observeReach(provider, lab, pod, targetIps, ttlIps, timeoutMs?) -> Observed<ReachObservation>
//       from one pod, one exec: fping to every target (provider capability `fping`; else
//       one ping each inside the same exec), a ping per TTL probe, and the pod's interfaces.
//   observeEncapsulation(provider, lab, encapIntent, signal?, slow?) -> Observed<CaptureObservation>
//       tcpdump on the sender's eth0 (VXLAN decoded on the lab's port) while a pod pings.
//   observedDevices(plan) -> the switches and nodes the intent speaks of.
//   safeExec / safeBatch(provider, lab, device, argv(s), timeoutMs) -> ExecResult(s)
//       one command / several in one exec; a failure becomes a result (exit -1), except
//       "not running" and "host lacks", which end the observation.
//   waitForConvergence(plan, provider, { timeoutMs, signal?, trace? }) -> summary line
//       polls the devices until verify's session and route checks all pass.
//   withSlot(fn) / OBSERVE_CONCURRENCY, withProbeSlot(fn) / PROBE_CONCURRENCY (reachability), hostLoad()
//       the process-wide bound every observer runs under (2 x CPUs), and the load figure
//       put beside every timeout.
//
// Every Observed<T> is { ok: true, value } or { ok: false, error, unknown? }: `unknown`
// means "could not look" (timeout, exec failed): report it as such, never as a fault.
// Providers declare what can be observed in `provider.capabilities`, and run several
// commands in one exec with `provider.execBatch`.
export { observeSwitch, observeSwitchBgp, observeKernel, observeRib, observeNode, observedDevices, readSwitch, readSessions, readNode, parseLinkStates, safeBatch, safeExec, FRR_QUERY, FRR_SESSIONS_QUERY, SWITCH_QUERY, RIB_QUERY, BIRD_QUERY, KERNEL_ROUTES_QUERY, LINKS_QUERY, OBSERVE_TIMEOUT_MS } from './device.js';
export { observeReach, readReach, parseFping, pingArgv, fpingArgv, reachCommands } from './reach.js';
export { observeEncapsulation, captureArgs, captureFilter, type CaptureObservation } from './capture.js';
export { waitForConvergence, type ConvergeOptions } from './converge.js';
export { withSlot, withProbeSlot, OBSERVE_CONCURRENCY, PROBE_CONCURRENCY, hostLoad } from './limit.js';
export type { Observed, SwitchObservation, NodeObservation, ReachObservation, LinkStates } from './types.js';
export { isUnknown } from './types.js';
