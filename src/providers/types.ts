// The one interface both providers implement. Small on purpose: verify and the CLI
// need nothing else.

import type { Plan } from '../plan/types.js';
import type { Tool } from './host-tools.js';
import type { NetworkPolicy } from '../policy/types.js';

export interface ExecResult { stdout: string; stderr: string; exitCode: number }

export interface ExecOptions {
  /** Milliseconds before the command is killed (exitCode then -1, stderr says timeout). */
  timeoutMs?: number;
  input?: string;
  /** 'inherit': attach the user's terminal (interactive `lab exec`); stdout/stderr are then empty. */
  stdio?: 'pipe' | 'inherit';
}

export interface CaptureOptions {
  /** Stop after this long (ms). */
  durationMs?: number;
  /** Stop after this many packets (tcpdump -c). */
  packets?: number;
  /** Write a pcap file instead of text (tcpdump -w). */
  writeFile?: string;
  /**
   * Write pcap to this open file descriptor instead of text (the CLI's stdout for `-w -`, or
   * a file the CLI created for `-w FILE`, so the file belongs to the user who ran it).
   */
  pcapFd?: number;
  /** tcpdump's own messages (its "N packets captured" summary), line by line. */
  onStderrLine?: (line: string) => void;
  /** Called once tcpdump says it is listening, so the caller can send traffic. */
  onListening?: () => void;
  /** Stream text output as it arrives (for `lab capture` live). */
  onLine?: (line: string) => void;
  signal?: AbortSignal;
}

export interface DeviceStatus { name: string; kind: string; alive: boolean; detail: string }

export interface LabStatus {
  lab: string;
  provider: 'emulator' | 'libvirt';
  running: boolean;
  devices: DeviceStatus[];
  /** Set when the provider's state of the lab could not be read (damaged file). */
  problem?: string;
}

/** What `down` found and what it refused or could not read (said to the user). */
export interface DownReport { found: boolean; warnings: string[] }

export interface Progress {
  /** Start a phase; the returned function ends it (the reporter prints its duration). */
  phase(title: string): (detail?: string) => void;
  info(message: string): void;
}

/**
 * What a provider can observe and do, so callers ask "can it" instead of testing its name.
 * The observation layer (src/observe/) picks its observers from these.
 */
export interface Capabilities {
  /** BGP-speaking nodes run BIRD, queried with birdc. */
  bird: boolean;
  /** `fping` runs inside pods (one process probes many targets). */
  fping: boolean;
  /** Isolated copies of a lab (--instance). */
  instances: boolean;
  /** Builds the lab file's outside host (verify checks SNAT and outside clients through it). */
  outside: boolean;
  /**
   * Who builds the pods and the CNI dataplane. 'planned': the provider, exactly as the plan
   * says (pod names, addresses, host-side veths, vxlan.calico), so faults and traces may
   * name them. 'cni': real Kubernetes and Calico do (names and addresses of their own;
   * Felix puts back any change to its devices), so only switches and nodes are addressed
   * by plan names.
   */
  podDataplane: 'planned' | 'cni';
}

export interface Provider {
  readonly name: 'emulator' | 'libvirt';
  readonly capabilities: Capabilities;
  /** Binaries this plan needs on the host and their Debian packages (the CLI installs missing ones). */
  requiredTools(plan: Plan): Tool[];
  /** Which artifacts up() reads, and so which `lab up` writes: 'fabric-configs', only the switch configs (`lab render` writes every artifact). */
  readonly upReads: 'fabric-configs' | 'all';
  /** Build the lab from the plan and the rendered artifacts in artifactsDir. Throws LabError on failure. */
  up(plan: Plan, artifactsDir: string, progress: Progress, signal?: AbortSignal): Promise<void>;
  /** Remove everything the lab created. Idempotent. */
  down(labName: string, progress?: Progress): Promise<DownReport | void>;
  /** Whether the lab is running, and the health of each device. */
  status(labName: string): Promise<LabStatus>;
  /** Run argv on a device (switch, node or pod), never through a shell string. */
  exec(labName: string, device: string, argv: string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * Several commands on one device in one exec (one process spawn, one SSH channel), each
   * never through a shell string; one result per command, in order. A command the exec
   * could not finish has exit code -1 and says why on stderr.
   */
  execBatch(labName: string, device: string, commands: string[][], options?: Pick<ExecOptions, 'timeoutMs'>): Promise<ExecResult[]>;
  /** An interactive shell (or FRR's vtysh) on a device, on the user's terminal; resolves with its exit code. */
  shell(labName: string, device: string, options: { vtysh: boolean }): Promise<number>;
  /** tcpdump on a device's interface: resolves with its text output when it ends. */
  capture(labName: string, device: string, iface: string, tcpdumpArgs: string[], options?: CaptureOptions): Promise<ExecResult>;
  /**
   * Stop or start one routing daemon (`lab fault daemon`); a started one is tracked like
   * those `up` started. 'already': it was stopped/running. Absent: the provider cannot (exit 4).
   */
  daemon?(labName: string, device: string, daemon: 'zebra' | 'bgpd' | 'bird', action: 'stop' | 'start'): Promise<'done' | 'already'>;
  /**
   * Program every node's filter table for this NetworkPolicy set, as Felix does (`lab
   * policy`, checkpoints, exercises). Absent: the provider runs a real cluster, where
   * kubectl applies policies (exit 2 with that advice).
   */
  enforcePolicies?(labName: string, plan: Plan, policies: NetworkPolicy[], signal?: AbortSignal): Promise<void>;
}
