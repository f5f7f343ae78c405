// Running vagrant in the lab's artifacts folder, inside libvirt's network namespace (the
// VMs' management network is only reachable from there), and reading what it says.
import { execa } from 'execa';
import type { LibvirtHost } from './host.js';
import { vagrantEnv } from './host.js';

export interface VagrantCall {
  host: LibvirtHost;
  dir: string;
  /** Each output line (stdout and stderr), progress bars dropped. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

export function vagrant(call: VagrantCall, args: string[]) {
  const [cmd, argv] = call.host.netns
    ? ['ip', ['netns', 'exec', call.host.netns, 'vagrant', ...args]]
    : ['vagrant', args];
  const sub = execa(cmd as string, argv as string[], {
    cwd: call.dir, env: vagrantEnv(), reject: false, all: true, stdin: 'ignore',
    timeout: call.timeoutMs, killSignal: 'SIGINT', forceKillAfterDelay: 30_000,
  });
  if (call.onLine) {
    let pending = '';
    sub.all.on('data', (chunk: Buffer) => {
      const parts = (pending + chunk.toString()).split(/\r|\n/);
      pending = parts.pop() ?? '';
      for (const line of parts) if (line.trim() && !line.includes('Progress:')) call.onLine!(line.replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''));
    });
  }
  return sub;
}

/** `==> leaf1: Creating domain...` -> { machine: 'leaf1', message: 'Creating domain...' } */
export function parseVagrantLine(line: string): { machine: string; message: string } | undefined {
  const m = /^==> ([^:\s]+): (.*)$/.exec(line);
  return m ? { machine: m[1], message: m[2].trim() } : undefined;
}

// What is worth a progress line per VM (vagrant prints ~25 lines per machine).
const MILESTONES = [
  /^Creating image/, /^Creating domain with/, /^Starting domain/, /^Waiting for domain to get an IP address/,
  /^Waiting for machine to boot/, /^Machine booted and ready/, /^Setting hostname/, /^Running provisioner/,
  /^Machine already provisioned/, /^Domain is already running/, /^Uploading base box image/, /^Removing domain/,
];
export const isMilestone = (message: string) => MILESTONES.some((r) => r.test(message));

/** `vagrant status --machine-readable` -> machine name -> state (running, shutoff, not_created...). */
export function parseMachineStates(text: string): Map<string, string> {
  const states = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.split(',');
    if (f[2] === 'state' && f[1]) states.set(f[1], f[3]);
  }
  return states;
}

export interface SshConfigEntry { host: string; port: number; user: string; privateKeyPath: string }

/** `vagrant ssh-config` output (one `Host NAME` block per machine). */
export function parseSshConfig(text: string): Map<string, SshConfigEntry> {
  const out = new Map<string, SshConfigEntry>();
  let name = '';
  let cur: Partial<SshConfigEntry> = {};
  const flush = () => {
    if (name && cur.host && cur.user && cur.privateKeyPath) out.set(name, { port: 22, ...cur } as SshConfigEntry);
  };
  for (const raw of text.split('\n')) {
    const m = /^\s*(\S+)\s+(.*?)\s*$/.exec(raw);
    if (!m) continue;
    const [, key, value] = m;
    switch (key.toLowerCase()) {
      case 'host': flush(); name = value; cur = {}; break;
      case 'hostname': cur.host = value; break;
      case 'user': cur.user = value; break;
      case 'port': cur.port = Number(value); break;
      case 'identityfile': cur.privateKeyPath ??= value.replace(/^"(.*)"$/, '$1'); break;
    }
  }
  flush();
  return out;
}

/**
 * What explains a failed vagrant run: its error summary (no Ruby backtrace), then for each
 * machine it names the last lines that machine printed (a provisioner's own error).
 */
export function vagrantFailure(all: string): string {
  const lines = all.split(/\r|\n/).filter((l) => l.trim() && !l.includes('Progress:') && !/^\/usr\/.*\.rb:\d+:in /.test(l));
  const firstError = lines.findIndex((l) => /error|failed|Please report/i.test(l) && !/^(==>| {4})/.test(l));
  const summary = firstError >= 0 ? lines.slice(firstError, firstError + 8) : lines.slice(-8);
  const failed = [...new Set([...all.matchAll(/the action on the '([^']+)'/g)].map((m) => m[1]))];
  const perMachine = failed.flatMap((m) => {
    const own = lines.filter((l) => l.startsWith(`    ${m}: `) || l.startsWith(`==> ${m}: `)).slice(-10);
    return own.length ? [`--- last output of ${m}:`, ...own.map((l) => l.trim())] : [];
  });
  return [...summary, ...perMachine].join('\n');
}

/** The domain name prefix a Vagrantfile sets (`lv.default_prefix = "..."`), if any. */
export function vagrantfilePrefix(vagrantfile: string): string | undefined {
  return /^\s*\w+\.default_prefix\s*=\s*["']([^"']*)["']/m.exec(vagrantfile)?.[1];
}
