// End-to-end on real VMs: build (or reuse) the FRR box, start libvirtd, bring up a
// 1-spine/2-leaf FRR fabric with the libvirt provider, see every BGP session Established
// over SSH, tear it down and find nothing of it left in libvirt. Slow (qemu software
// emulation): run with `npm run test:libvirt`.
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

// The registry reads FABRIC_LAB_STATE when it loads: set it first, import after.
const stateDir = await mkdtemp(path.join(tmpdir(), 'fl-libvirt-state-'));
process.env.FABRIC_LAB_STATE = stateDir;
const { repoRoot } = await import('../../src/paths.js');
const { loadLab } = await import('../../src/lab/load.js');
const { plan: makePlan } = await import('../../src/plan/index.js');
const { renderAll, writeArtifacts } = await import('../../src/render/index.js');
const { recordRunning, forgetRunning } = await import('../../src/providers/registry.js');
const { libvirt } = await import('../../src/providers/libvirt/index.js');
const { ensureLibvirtd, stopOurLibvirtdIfIdle } = await import('../../src/providers/libvirt/host.js');
const { inventory, isBoxVolume, networksInUse, leftovers, removeLeftovers } = await import('../../src/providers/libvirt/cleanup.js');
const { closeAllSsh } = await import('../../src/providers/libvirt/ssh.js');
const { verify } = await import('../../src/verify/index.js');

const LAB = 'lv-smoke';
const BOX_CACHE = process.env.FABRIC_LAB_BOX_CACHE ?? '/var/cache/fabric-lab/boxes';
const BGP_DEADLINE_MS = 10 * 60_000;

const labYaml = (boxDir: string) => `name: ${LAB}
description: libvirt smoke test, 1 spine and 2 leaves on FRR VMs
fabric:
  os: frr
  addressing: { loopback: 172.16.255.0/24, p2p: 172.16.0.0/24 }
  spines:
    - { name: spine1, asn: 65001 }
  leaves:
    - { name: leaf1, asn: 65101, rack: 10.0.101.0/24 }
    - { name: leaf2, asn: 65102, rack: 10.0.102.0/24 }
libvirt:
  driver: qemu
  switchBox: local/frr-bookworm
  kernel: ${boxDir}/vmlinuz
  initrd: ${boxDir}/initrd.img
  cmdline: root=/dev/vda rw console=ttyS0 net.ifnames=0
  switchMemory: 512
`;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface BgpPeer { state?: string }
/** Established peers in `vtysh -c 'show bgp summary json'` (FRR 8: ipv4Unicast.peers). */
function establishedPeers(json: string): string[] {
  const parsed = JSON.parse(json) as Record<string, { peers?: Record<string, BgpPeer> }>;
  const peers = parsed.ipv4Unicast?.peers ?? {};
  return Object.entries(peers).filter(([, p]) => p.state === 'Established').map(([ip]) => ip);
}

let passed = false;
test.afterEach.always((t) => { passed = t.passed; });
test.after.always(async () => {
  await closeAllSsh();
  // On failure the artifacts (Vagrantfile, vagrant-up.log) stay for a look.
  if (passed) await rm(stateDir, { recursive: true, force: true });
  else process.stderr.write(`libvirt smoke test: artifacts and logs kept in ${stateDir}/artifacts/${LAB}\n`);
});

test.serial('libvirt: FRR fabric VMs come up, BGP Established over SSH, down leaves nothing', async (t) => {
  t.timeout(40 * 60_000);
  t.is(process.getuid?.(), 0, 'needs root (libvirtd, network namespaces)');
  const timings: Record<string, string> = {};
  const started = Date.now();
  const log = (m: string) => { const line = `[${seconds(Date.now() - started)}] ${m}`; t.log(line); process.stderr.write(`${line}\n`); };
  const progress = {
    phase(title: string) {
      const t0 = Date.now();
      log(`${title}…`);
      return (detail?: string) => { timings[title] = seconds(Date.now() - t0); log(`${title} done in ${timings[title]}${detail ? ` (${detail})` : ''}`); };
    },
    info: (m: string) => log(`  ${m}`),
  };

  let end = progress.phase('box');
  await execa(path.join(repoRoot, 'scripts/build-box.sh'), { stdout: 'inherit', stderr: 'inherit' });
  end();

  end = progress.phase('libvirtd');
  const host = await ensureLibvirtd();
  // A previous run that was killed may have left its VMs: remove them first.
  const stale = await removeLeftovers(await leftovers(`${LAB}-`, []));
  if (stale.length) log(`removed leftovers of an earlier run: ${stale.join(', ')}`);
  const before = await inventory();
  end(`domains before: ${before.domains.length}`);

  const labsDir = await mkdtemp(path.join(tmpdir(), 'fl-libvirt-labs-'));
  const labFile = path.join(labsDir, `${LAB}.yaml`);
  await writeFile(labFile, labYaml(path.join(BOX_CACHE, 'frr-bookworm')));
  const lab = await loadLab(labFile);
  const p = makePlan(lab);
  const artifactsDir = path.join(stateDir, 'artifacts', LAB);
  await writeArtifacts(artifactsDir, renderAll(p));
  await recordRunning({ lab: LAB, provider: 'libvirt', labFile, artifactsDir, startedAt: new Date().toISOString() });

  let upStarted = false;
  try {
    upStarted = true;
    const t0 = Date.now();
    await libvirt.up(p, artifactsDir, progress);
    timings['provider.up total'] = seconds(Date.now() - t0);

    // Isolation: libvirt's namespace has no way out, and no VM has a default route.
    if (host.netns) {
      const routes = await execa('ip', ['-n', host.netns, 'route', 'show', 'default']);
      t.is(routes.stdout.trim(), '', `no default route in netns ${host.netns}`);
    }
    for (const sw of p.switches) {
      const r = await libvirt.exec(LAB, sw.name, ['ip', 'route', 'show', 'default']);
      t.is(r.stdout.trim(), '', `${sw.name} has no default route`);
    }

    const status = await libvirt.status(LAB);
    t.true(status.running);
    t.deepEqual(status.devices.filter((d) => !d.alive).map((d) => `${d.name}: ${d.detail}`), []);

    // Every switch: all its neighbours Established (polled: BGP needs a few seconds after boot).
    end = progress.phase('bgp established');
    const want = new Map(p.switches.map((s) => [s.name, (s.bgp?.neighbors ?? []).map((n) => n.ip).sort()]));
    const seen = new Map<string, string[]>();
    const deadline = Date.now() + BGP_DEADLINE_MS;
    for (;;) {
      for (const [sw] of want) {
        const r = await libvirt.exec(LAB, sw, ['vtysh', '-c', 'show bgp summary json'], { timeoutMs: 30_000 });
        try { seen.set(sw, r.exitCode === 0 ? establishedPeers(r.stdout).sort() : []); } catch { seen.set(sw, []); }
      }
      if ([...want].every(([sw, ips]) => ips.every((ip) => seen.get(sw)!.includes(ip)))) break;
      if (Date.now() > deadline) break;
      await sleep(5000);
    }
    end();
    for (const [sw, ips] of want) t.deepEqual(seen.get(sw), ips, `${sw}: Established peers`);
    t.is([...want.values()].flat().length, 4, 'two sessions per leaf-spine link, seen from both ends');

    end = progress.phase('verify');
    const report = await verify(p, libvirt);
    end(`${report.summary.passed} passed, ${report.summary.failed} failed`);
    // Sessions, extra sessions and every rack/loopback route with its ECMP count, over SSH.
    t.true(report.checks.some((c) => c.kind === 'bgp-session') && report.checks.some((c) => c.kind === 'route'));
    t.deepEqual(report.checks.filter((c) => !c.ok).map((c) => `${c.kind} ${c.subject}: expected ${c.expected}, observed ${c.observed}`), []);
  } finally {
    if (upStarted) {
      end = progress.phase('down');
      await libvirt.down(LAB, progress);
      await forgetRunning(LAB);
      end();
    }
    await rm(labsDir, { recursive: true, force: true });
  }

  // down stops the libvirtd it started once no VM is left; what libvirt keeps (domain,
  // volume and network definitions) survives that, so ask a running libvirtd again.
  await ensureLibvirtd();
  // Other labs may come and go meanwhile on the same libvirtd: judge only what is ours.
  const after = await inventory();
  const ours = (name: string) => name.includes(LAB);
  t.deepEqual(after.domains.filter(ours), [], 'no domain of the lab left');
  t.deepEqual(after.volumes.filter((v) => ours(v) && !isBoxVolume(v)), [], 'no volume left but the box');
  const used = await networksInUse(after.domains);
  t.deepEqual(after.networks.filter((n) => !before.networks.includes(n) && !used.has(n)), [], 'no network left');
  await stopOurLibvirtdIfIdle();
  timings.total = seconds(Date.now() - started);
  log(`timings: ${JSON.stringify(timings)}`);
});
