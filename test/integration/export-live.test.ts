// The containerlab export run for real, without Docker (there is none here): each
// container of the .clab.yml becomes a network namespace, each `links:` entry a veth
// pair with the interface names the file gives, each bind a copy of the exported file
// under a per-container folder standing for its mount point, and the container's
// `exec:` (the exported setup.sh) runs in its namespace. FRR runs the exported frr.conf
// (started as the emulator starts it, the image's watchfrr being Docker's part) and
// BIRD the exported bird.conf, started by the script itself. Then the lab must work as
// the emulator's does: every BGP session Established, cross-rack pod pings with the
// mode's TTL, the pods' TCP responders answering. Root; everything removed after.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadLab } from '../../src/lab/load.js';
import { plan as makePlan } from '../../src/plan/index.js';
import { allPings } from '../../src/plan/intent.js';
import type { Plan } from '../../src/plan/types.js';
import { exportContainerlab } from '../../src/export/containerlab.js';
import { labsDir } from '../../src/paths.js';

const isRoot = process.getuid?.() === 0;
const tmp = mkdtempSync(path.join(tmpdir(), 'export-live-'));
const cleanups: (() => Promise<void>)[] = [];
test.after.always(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

interface ClabNode { image: string; binds: string[]; exec: string[] }
interface Clab { topology: { nodes: Record<string, ClabNode>; links: { endpoints: string[] }[] } }

const run = (cmd: string, args: string[], input?: string) => execa(cmd, args, { reject: false, all: true, ...(input === undefined ? {} : { input }) });
const until = async (what: string, ok: () => Promise<boolean>, ms = 30000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 250)); // polling a daemon's state: no event to wait on
  }
  throw new Error(`timed out waiting for ${what}`);
};

/** A copy of a shipped lab under a name of this test's own (pods, namespaces never collide with others'). */
async function labCopy(src: string, name: string, extra: string): Promise<Plan> {
  const text = readFileSync(path.join(labsDir, `${src}.yaml`), 'utf8').replace(/^name: .*$/m, `name: ${name}`) + extra;
  const file = path.join(tmp, `${name}.yaml`);
  writeFileSync(file, text);
  return makePlan(await loadLab(file));
}

async function bringUp(t0: ExecutionContext, p: Plan): Promise<{ ns: (device: string) => string }> {
  const dir = path.join(tmp, p.name);
  const out = exportContainerlab(p, { topologyFile: `${p.name}.clab.yml`, configDir: `${p.name}-clab`, switchImage: 'frr', hostImage: 'host' });
  for (const f of out.files) {
    mkdirSync(path.dirname(path.join(dir, `${p.name}-clab`, f.path)), { recursive: true });
    writeFileSync(path.join(dir, `${p.name}-clab`, f.path), f.content);
  }
  const clab = parse(out.topology) as Clab;
  const ns = (device: string) => `xpl_${p.name}_${device}`.slice(0, 60);
  const names = Object.keys(clab.topology.nodes);
  t0.deepEqual(names.sort(), [...p.switches.map((x) => x.name), ...p.nodes.map((x) => x.name), ...(p.outside ? [p.outside.name] : [])].sort());
  cleanups.push(async () => {
    for (const n of [...names.map(ns), ...p.pods.map((x) => x.name)]) {
      const pids = (await run('ip', ['netns', 'pids', n])).stdout.split('\n').filter(Boolean);
      if (pids.length) await run('kill', pids);
    }
    for (const n of names.map(ns)) {
      const pids = async () => (await run('ip', ['netns', 'pids', n])).stdout.trim();
      await until(`processes of ${n} to exit`, async () => (await pids()) === '', 10000).catch(() => undefined);
    }
    await run('ip', ['-force', '-batch', '-'], [...names.map(ns), ...p.pods.map((x) => x.name)].map((n) => `netns del ${n}`).join('\n') + '\n');
    for (const n of names.map(ns)) rmSync(`/etc/frr/${n}`, { recursive: true, force: true }), rmSync(`/var/run/frr/${n}`, { recursive: true, force: true });
  });
  // Containers and cables, named as the file names them.
  const batch = [...names.map((n) => `netns add ${ns(n)}`),
    ...clab.topology.links.map((l) => {
      const [a, b] = l.endpoints.map((e) => e.split(':'));
      return `link add name ${a[1]} netns ${ns(a[0])} type veth peer name ${b[1]} netns ${ns(b[0])}`;
    })];
  const created = await run('ip', ['-batch', '-'], batch.join('\n') + '\n');
  if (created.exitCode !== 0) throw new Error(created.all);
  // Binds: each container's /fabric-lab is a folder of its own; paths the scripts use
  // inside a container (/run, /var/log) are per container too.
  const mounts = new Map<string, string>();
  for (const [name, node] of Object.entries(clab.topology.nodes)) {
    const m = path.join(dir, 'mnt', name);
    mkdirSync(m, { recursive: true });
    mounts.set(name, m);
    for (const b of node.binds) {
      const [src, dst] = b.split(':');
      if (dst.startsWith('/fabric-lab/')) copyFileSync(path.join(dir, src), path.join(m, path.basename(dst)));
    }
    for (const f of ['setup.sh', 'bird.conf', 'responder.json']) {
      const file = path.join(m, f);
      try {
        writeFileSync(file, readFileSync(file, 'utf8').replaceAll('/fabric-lab/', `${m}/`).replaceAll('/run/bird.ctl', `${m}/bird.ctl`)
          .replaceAll('/var/log/', `${m}/log-`).replaceAll('/run/fabric-lab-responder.ready', `${m}/ready`));
      } catch { /* not bound into this container */ }
    }
  }
  const exec = async (name: string) => {
    const node = clab.topology.nodes[name];
    if (node.exec.join() !== 'sh /fabric-lab/setup.sh') throw new Error(`unexpected exec on ${name}: ${node.exec}`);
    // nsenter (not ip netns exec): the script's `ip netns add` must outlive it, as in a container.
    const r = await run('nsenter', [`--net=/run/netns/${ns(name)}`, 'sh', path.join(mounts.get(name)!, 'setup.sh')]);
    if (r.exitCode !== 0) throw new Error(`${name}: setup.sh failed: ${r.all}`);
  };
  // Switches: their script, then FRR on the exported frr.conf (as the image starts it).
  await Promise.all(p.switches.map((s) => exec(s.name)));
  await Promise.all(p.switches.filter((s) => s.bgp).map(async (s) => {
    const n = ns(s.name);
    const [etc, varRun] = [`/etc/frr/${n}`, `/var/run/frr/${n}`];
    for (const d of [etc, varRun]) { mkdirSync(d, { recursive: true }); chownSync(d, frrId.uid, frrId.gid); }
    copyFileSync(path.join(dir, `${p.name}-clab`, s.name, 'frr.conf'), `${etc}/frr.conf`);
    chownSync(`${etc}/frr.conf`, frrId.uid, frrId.gid);
    const zebra = await run('ip', ['netns', 'exec', n, '/usr/lib/frr/zebra', '-d', '-N', n, '-F', 'datacenter', '-f', `${etc}/frr.conf`, '-i', `${varRun}/zebra.pid`]);
    if (zebra.exitCode !== 0) throw new Error(zebra.all);
    await until(`zebra of ${s.name}`, async () => (await run('test', ['-S', `${varRun}/zserv.api`])).exitCode === 0);
    const bgpd = await run('ip', ['netns', 'exec', n, '/usr/lib/frr/bgpd', '-d', '-N', n, '-F', 'datacenter', '-f', `${etc}/frr.conf`, '-i', `${varRun}/bgpd.pid`]);
    if (bgpd.exitCode !== 0) throw new Error(bgpd.all);
  }));
  await Promise.all([...p.nodes.map((n) => exec(n.name)), ...(p.outside ? [exec(p.outside.name)] : [])]);
  return { ns };
}

const frrId = { uid: 0, gid: 0 };

const LABS = [
  { src: 'calico-vxlan', name: 'xpl-vxlan', ttl: 62, extra: '\noutside: {}\n' },
  { src: 'calico-bgp', name: 'xpl-bgp', ttl: 59, extra: '' },
];

for (const l of LABS) {
  (isRoot ? test.serial : test.skip)(`${l.src} exported to containerlab and run as it would: sessions Established, pods ping across racks (ttl ${l.ttl}), responders, Services${l.extra ? ' and the outside host' : ''} answer`, async (t) => {
    const id = await run('id', ['-u', 'frr']);
    frrId.uid = Number(id.stdout);
    frrId.gid = Number((await run('id', ['-g', 'frr'])).stdout);
    const p = await labCopy(l.src, l.name, l.extra);
    const { ns } = await bringUp(t, p);
    // Every session the plan intends, Established on the switch that holds it.
    const leafSessions = p.intent.sessions.filter((s) => p.switches.some((sw) => sw.name === s.speaker));
    await until('every BGP session Established', async () => {
      for (const sw of p.switches.filter((s) => s.bgp)) {
        const r = await run('ip', ['netns', 'exec', ns(sw.name), 'vtysh', '-N', ns(sw.name), '-c', 'show bgp summary json']);
        const peers = Object.values((JSON.parse(r.stdout || '{}') as { ipv4Unicast?: { peers?: Record<string, { state: string }> } }).ipv4Unicast?.peers ?? {});
        const want = leafSessions.filter((s) => s.speaker === sw.name).length;
        if (peers.filter((x) => x.state === 'Established').length < want) return false;
      }
      return true;
    }, 60000);
    t.pass('sessions Established');
    // Pods on different racks ping with the TTL the mode implies.
    const rackOf = new Map(p.nodes.map((n) => [n.name, n.rack]));
    const pairs = [...allPings(p)].filter((x) => {
      const a = p.pods.find((q) => q.name === x.from)!, b = p.pods.find((q) => q.name === x.to)!;
      return rackOf.get(a.node) !== rackOf.get(b.node);
    });
    t.true(pairs.length > 0);
    for (const pair of pairs) {
      let out = '';
      await until(`${pair.from} -> ${pair.toIp}`, async () => {
        const r = await run('ip', ['netns', 'exec', pair.from, 'ping', '-c', '1', '-W', '1', pair.toIp]);
        out = r.all;
        return r.exitCode === 0;
      }, 20000).catch(() => undefined);
      t.regex(out, new RegExp(`ttl=${l.ttl}\\b`), `${pair.from} -> ${pair.to}: ${out}`);
    }
    // The responders answer on the pods' ports with the pod's name.
    const served = p.pods.filter((x) => x.ports.length);
    t.true(served.length > 0);
    const client = p.pods.find((x) => x.node !== served[0].node)!;
    const ask = async (ip: string, port: number) => {
      const py = `import socket;s=socket.create_connection(("${ip}",${port}),3);print(s.recv(200).decode())`;
      let out = '';
      await until(`${ip}:${port}`, async () => {
        const r = await run('ip', ['netns', 'exec', client.name, 'python3', '-c', py]);
        out = r.all;
        return r.exitCode === 0;
      }, 15000).catch(() => undefined);
      return out;
    };
    for (const pod of served) {
      const out = await ask(pod.ip, pod.ports[0].port);
      t.true(out.startsWith(pod.name), `${pod.name}: ${out}`);
    }
    // The outside host answers with the source it saw: the pod's node (Calico's natOutgoing).
    if (p.outside) {
      const node = p.nodes.find((n) => n.name === client.node)!;
      const out = await ask(p.outside.addr.ip, p.outside.port);
      t.regex(out, new RegExp(`^${p.outside.name} ${node.addr.ip.replace(/\./g, '\\.')}\\b`), out);
    }
    // Services: kube-proxy's nat table (the shared iptables-nat.rules) sends a cluster IP to an endpoint.
    t.true(p.services.length > 0);
    for (const svc of p.services) {
      const out = await ask(svc.clusterIP, svc.ports[0].port);
      t.true(svc.endpoints.some((e) => out.startsWith(e.pod)), `${svc.name} ${svc.clusterIP}: ${out}`);
    }
  });
}
