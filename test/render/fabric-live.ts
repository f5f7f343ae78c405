// Test harness: the rendered frr.conf files running in real FRR, one network namespace
// per device, cabled as the plan says. Nodes are plain hosts, or (BGP mode) a stand-in
// for Calico's BIRD: an FRR bgpd that peers with its leaf and originates its block.
// Everything lives in namespaces named after this process, and stop() removes it all.
import { execa } from 'execa';
import { mkdir, writeFile, readFile, rm, access } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Plan } from '../../src/plan/types.js';
import type { Artifact } from '../../src/render/types.js';
import { renderTemplate } from '../../src/render/engine.js';

export type NodeMode = 'none' | 'hosts' | 'bgp';

const FRR_ETC = '/etc/frr';
const FRR_RUN = '/var/run/frr';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let instances = 0;
const uniquePrefix = () => `fct${process.pid.toString(36)}${(instances++).toString(36)}`;

export class LiveFabric {
  private readonly nsOf = new Map<string, string>();
  private readonly frrNs: string[] = [];

  constructor(readonly plan: Plan, readonly mode: NodeMode, readonly prefix = uniquePrefix()) {
    const devices = [...plan.switches.map((s) => s.name), ...(mode === 'none' ? [] : plan.nodes.map((n) => n.name))];
    devices.forEach((d, i) => this.nsOf.set(d, `${prefix}-${i}`));
  }

  ns(device: string): string {
    const ns = this.nsOf.get(device);
    if (!ns) throw new Error(`no namespace for ${device}`);
    return ns;
  }

  async exec(device: string, argv: string[]): Promise<string> {
    const r = await execa('ip', ['netns', 'exec', this.ns(device), ...argv]);
    return r.stdout;
  }

  async vtyshJson(device: string, command: string): Promise<any> {
    return JSON.parse(await this.exec(device, ['vtysh', '-N', this.ns(device), '-c', command]));
  }

  /** Build namespaces, cables and addresses, then start zebra+bgpd with the artifacts. */
  async start(artifacts: Artifact[]): Promise<void> {
    for (const ns of this.nsOf.values()) {
      await execa('ip', ['netns', 'add', ns]);
      await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const wanted = this.plan.links.filter((l) => l.kind === 'fabric' || (l.kind === 'access' && this.mode !== 'none'));
    for (const l of wanted) {
      await execa('ip', ['-n', this.ns(l.a.device), 'link', 'add', l.a.iface, 'type', 'veth', 'peer', 'name', l.b.iface, 'netns', this.ns(l.b.device)]);
    }
    for (const sw of this.plan.switches) await this.addressSwitch(sw.name);
    if (this.mode !== 'none') for (const n of this.plan.nodes) await this.addressNode(n.name);

    for (const sw of this.plan.switches.filter((s) => s.bgp)) {
      const conf = artifacts.find((a) => a.path === `fabric-configs/${sw.name}/frr.conf`);
      if (!conf) throw new Error(`no frr.conf rendered for ${sw.name}`);
      await this.startFrr(sw.name, conf.content);
    }
    if (this.mode === 'bgp') {
      for (const n of this.plan.nodes) {
        await this.exec(n.name, ['ip', 'route', 'add', 'blackhole', n.blocks[0]]);
        const bgp = n.bgp!;
        const conf = renderTemplate('test/render/fabric-fake-node.conf.hbs', {
          hostname: n.name, asn: bgp.asn, routerId: bgp.routerId, neighbors: bgp.neighbors, blocks: n.blocks,
        });
        await this.startFrr(n.name, conf);
      }
    }
  }

  private async addressSwitch(name: string): Promise<void> {
    const sw = this.plan.switches.find((s) => s.name === name)!;
    const ns = this.ns(name);
    const ip = (...args: string[]) => execa('ip', ['-n', ns, ...args]);
    if (sw.loopback) await ip('addr', 'add', `${sw.loopback}/32`, 'dev', 'lo');
    for (const p of sw.ports) {
      if (p.addr) await ip('addr', 'add', `${p.addr.ip}/${p.addr.prefixLen}`, 'dev', p.name);
    }
    if (sw.bridge) {
      await ip('link', 'add', sw.bridge.name, 'type', 'bridge', 'stp_state', '0');
      if (this.mode !== 'none') for (const m of sw.bridge.members) await ip('link', 'set', m, 'master', sw.bridge.name);
      await ip('addr', 'add', `${sw.bridge.addr.ip}/${sw.bridge.addr.prefixLen}`, 'dev', sw.bridge.name);
      await ip('link', 'set', sw.bridge.name, 'up');
    }
    for (const p of sw.ports) if (p.addr || this.mode !== 'none') await ip('link', 'set', p.name, 'up');
  }

  private async addressNode(name: string): Promise<void> {
    const n = this.plan.nodes.find((x) => x.name === name)!;
    const ip = (...args: string[]) => execa('ip', ['-n', this.ns(name), ...args]);
    await ip('addr', 'add', `${n.addr.ip}/${n.addr.prefixLen}`, 'dev', n.iface);
    await ip('link', 'set', n.iface, 'up');
    await ip('route', 'add', 'default', 'via', n.gateway);
  }

  private async startFrr(device: string, conf: string): Promise<void> {
    this.frrNs.push(this.ns(device));
    await startFrr(this.ns(device), conf);
  }

  /** Log lines of a device's daemon, for failure messages. */
  async log(device: string, daemon = 'bgpd'): Promise<string> {
    return readFile(path.join(FRR_RUN, this.ns(device), `${daemon}.log`), 'utf8').catch(() => '');
  }

  async stop(): Promise<void> {
    await stopFrr(this.frrNs);
    for (const ns of this.nsOf.values()) await execa('ip', ['netns', 'del', ns], { reject: false });
  }
}

/** zebra then bgpd in namespace ns (created if missing), with their own pathspace ns. */
async function startFrr(ns: string, conf: string): Promise<void> {
  await execa('ip', ['netns', 'add', ns], { reject: false });
  const etc = path.join(FRR_ETC, ns);
  const run = path.join(FRR_RUN, ns);
  await mkdir(etc, { recursive: true });
  await mkdir(run, { recursive: true });
  await writeFile(path.join(etc, 'frr.conf'), conf);
  await writeFile(path.join(etc, 'vtysh.conf'), '');
  await execa('chown', ['-R', 'frr:frr', etc, run]);
  const daemon = (d: string) => ['netns', 'exec', ns, `/usr/lib/frr/${d}`, '-d', '-N', ns, '-F', 'datacenter',
    '-f', path.join(etc, 'frr.conf'), '-i', path.join(run, `${d}.pid`), '--log', `file:${path.join(run, `${d}.log`)}`];
  await execa('ip', daemon('zebra'));
  for (let i = 0; i < 100 && !(await exists(path.join(run, 'zserv.api'))); i++) await sleep(20);
  await execa('ip', daemon('bgpd'));
  for (let i = 0; i < 100 && !(await exists(path.join(run, 'bgpd.vty'))); i++) await sleep(20);
}

async function stopFrr(namespaces: string[]): Promise<void> {
  const pids: number[] = [];
  for (const ns of namespaces) {
    for (const d of ['bgpd', 'zebra']) {
      const pid = Number((await readFile(path.join(FRR_RUN, ns, `${d}.pid`), 'utf8').catch(() => '')).trim());
      if (pid > 0) pids.push(pid);
    }
  }
  for (const pid of pids) try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  for (let i = 0; i < 100 && pids.some(alive); i++) await sleep(20);
  for (const pid of pids.filter(alive)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  for (const ns of namespaces) {
    await rm(path.join(FRR_ETC, ns), { recursive: true, force: true });
    await rm(path.join(FRR_RUN, ns), { recursive: true, force: true });
  }
}

/**
 * Feed conf to running daemons through vtysh, which sends each line to the daemon that
 * owns it: unlike --dryrun this catches what only the daemon knows (order, references).
 */
export async function applyToRunningFrr(conf: string): Promise<{ exitCode: number; output: string; running: string }> {
  const ns = `${uniquePrefix()}-cfg`;
  const file = path.join(FRR_RUN, `${ns}.conf`);
  try {
    await startFrr(ns, 'frr defaults datacenter\n');
    await writeFile(file, conf);
    const r = await execa('ip', ['netns', 'exec', ns, 'vtysh', '-N', ns, '-f', file], { reject: false, all: true });
    const running = await execa('ip', ['netns', 'exec', ns, 'vtysh', '-N', ns, '-c', 'show running-config']);
    return { exitCode: r.exitCode ?? -1, output: r.all ?? '', running: running.stdout };
  } finally {
    await stopFrr([ns]);
    await rm(file, { force: true });
    await execa('ip', ['netns', 'del', ns], { reject: false });
  }
}

const exists = (p: string) => access(p).then(() => true, () => false);

/** Alive and not a zombie waiting for its reaper (daemons are re-parented to PID 1). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Poll fn until it returns a truthy value or timeoutMs passes; returns the last value and the time taken. */
export async function waitFor<T>(fn: () => Promise<T>, timeoutMs: number, everyMs = 100): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  let value = await fn();
  while (!value && Date.now() - t0 < timeoutMs) {
    await sleep(everyMs);
    value = await fn();
  }
  return { value, ms: Date.now() - t0 };
}
