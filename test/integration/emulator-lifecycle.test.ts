// The emulator's lifecycle on real labs (root): interrupted `up` at every phase, two
// labs with the same addresses at once, `up` of a running lab, IPIP refused on a kernel
// without it, and exec / status / capture on a running lab.
import test, { type ExecutionContext } from 'ava';
import { execa } from 'execa';
import { ExitCode, LabError } from '../../src/errors.js';
import type { Plan } from '../../src/plan/types.js';
import type { Progress, Provider } from '../../src/providers/types.js';
import {
  artifactsFor, inNs, isRoot, leftovers, loadEmulator, nsOf, pingTtl, planAs, processesMentioning, recordedPids,
  recordingProgress, removeTempDirs, stateRoot,
} from './emulator-helpers.js';

const serial = isRoot ? test.serial : test.serial.skip;
let emulator: Provider;
const started = new Set<string>();

test.before(async () => {
  if (!isRoot) return;
  if (!stateRoot.includes('emulator-it-')) throw new Error(`tests must use a private state root, not ${stateRoot}`);
  emulator = await loadEmulator();
});

test.after.always(async () => {
  if (!isRoot) return;
  for (const lab of started) await emulator.down(lab).catch(() => undefined);
  await removeTempDirs();
});

async function upAs(lab: string, name: string, progress: Progress = recordingProgress(), signal?: AbortSignal): Promise<Plan> {
  const p = await planAs(lab, name);
  const dir = await artifactsFor(p);
  started.add(name);
  await emulator.up(p, dir, progress, signal);
  return p;
}

async function downClean(t: ExecutionContext, name: string): Promise<void> {
  const pids = [...await recordedPids(name, stateRoot), ...await processesMentioning(name)];
  await emulator.down(name);
  started.delete(name);
  t.deepEqual(await leftovers(name, stateRoot, pids), [], `after down ${name}`);
  t.deepEqual(await processesMentioning(name), [], `processes of ${name}`);
}

const labErrorCode = (e: unknown) => (e instanceof LabError ? e.exitCode : undefined);

// Ctrl-C (the CLI aborts the signal) at each phase, and in the middle of starting daemons.
// delayMs 0: right after the phase began, while its first commands are in flight.
const abortPoints: { lab: string; at: string; delayMs?: number }[] = [
  { lab: 'calico-bgp', at: 'before' },
  { lab: 'calico-bgp', at: 'links' },
  { lab: 'calico-bgp', at: 'daemons' },
  { lab: 'calico-bgp', at: 'daemons', delayMs: 40 },
  { lab: 'calico-vxlan', at: 'dataplane' },
  { lab: 'calico-vxlan', at: 'convergence' },
  { lab: 'calico-vxlan', at: 'convergence', delayMs: 0 },
];
for (const [i, point] of abortPoints.entries()) {
  serial(`abort of ${point.lab} up at ${point.at}${point.delayMs !== undefined ? ` +${point.delayMs} ms` : ''}, then down: nothing is left`, async (t) => {
    const name = `eml-abort${i}`;
    const abort = new AbortController();
    if (point.at === 'before') abort.abort();
    const progress = recordingProgress((title) => {
      if (title !== point.at) return;
      if (point.delayMs === 0) setImmediate(() => abort.abort());
      else if (point.delayMs) setTimeout(() => abort.abort(), point.delayMs);
      else abort.abort();
    });
    const err = await upAs(point.lab, name, progress, abort.signal).then(() => undefined, (e: unknown) => e);
    t.truthy(err, 'up must stop when aborted');
    t.is((err as Error).name, 'AbortError', String(err));
    if (point.at !== 'before') t.true((await leftovers(name, stateRoot, [])).length > 0, 'something was created before the abort');
    await downClean(t, name);
  });
}

serial('two labs with the same addresses run at once, and one goes down without touching the other', async (t) => {
  const [a, b] = await Promise.all([upAs('calico-vxlan', 'eml-twin-a'), upAs('calico-vxlan', 'eml-twin-b')]);
  const pair = (p: Plan) => ({ from: p.pods[0], to: p.pods.find((x) => p.nodes.find((n) => n.name === x.node)!.rack !== p.nodes.find((n) => n.name === p.pods[0].node)!.rack)! });
  const pa = pair(a);
  const pb = pair(b);
  t.is(pa.to.ip, pb.to.ip, 'same plan, same addresses');
  t.is(await pingTtl('eml-twin-a', pa.from.name, pa.to.ip), 62);
  t.is(await pingTtl('eml-twin-b', pb.from.name, pb.to.ip), 62);
  await downClean(t, 'eml-twin-a');
  t.is(await pingTtl('eml-twin-b', pb.from.name, pb.to.ip), 62);
  t.true((await emulator.status('eml-twin-b')).devices.every((d) => d.alive));
  await downClean(t, 'eml-twin-b');
});

serial('up of a running lab: exit 3, and the running lab is untouched', async (t) => {
  const p = await upAs('bridge-static', 'eml-dup');
  const err = await upAs('bridge-static', 'eml-dup').then(() => undefined, (e: unknown) => e);
  t.is(labErrorCode(err), ExitCode.notRunning, String(err));
  t.regex((err as Error).message, /already running/);
  const a = p.pods[0];
  const b = p.pods.find((x) => x.node !== a.node)!;
  t.is(await pingTtl('eml-dup', a.name, b.ip), 62);
  await downClean(t, 'eml-dup');
  // down is idempotent.
  await t.notThrowsAsync(emulator.down('eml-dup'));
});

serial('calico-ipip on a kernel without ipip: exit 4 naming the module, nothing created', async (t) => {
  const probe = await execa('unshare', ['--net', 'ip', 'link', 'add', 'name', 'probe', 'type', 'ipip', 'local', '192.0.2.1'], { reject: false });
  if (probe.exitCode === 0) {
    t.log('this kernel has ipip: the refusal cannot be exercised here');
    t.pass();
    return;
  }
  const err = await upAs('calico-ipip', 'eml-ipip').then(() => undefined, (e: unknown) => e);
  t.is(labErrorCode(err), ExitCode.hostLacks, String(err));
  t.regex((err as Error).message, /module `ipip`.*modprobe ipip.*CONFIG_NET_IPIP/);
  t.deepEqual(await leftovers('eml-ipip', stateRoot, []), []);
  started.delete('eml-ipip');
});

serial('exec, status and capture on a running lab; unknown devices and stopped labs are clear errors', async (t) => {
  const name = 'eml-ops';
  const p = await upAs('calico-vxlan', name);

  // vtysh on a switch gets its FRR pathspace automatically.
  const bgp = await emulator.exec(name, 'leaf1', ['vtysh', '-c', 'show bgp summary json']);
  t.is(bgp.exitCode, 0, bgp.stderr);
  t.is(JSON.parse(bgp.stdout).ipv4Unicast.peers['172.16.0.0'].state, 'Established');
  // A pod by a unique prefix of its name; exit codes pass through; input reaches stdin.
  const pod = p.pods[0];
  const prefix = pod.name.slice(0, pod.name.length - 3);
  t.is(p.pods.filter((x) => x.name.startsWith(prefix)).length, 1);
  const addr = await emulator.exec(name, prefix, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  t.true(addr.stdout.includes(`${pod.ip}/32`), addr.stdout);
  t.is((await emulator.exec(name, 'leaf1', ['false'])).exitCode, 1);
  t.is((await emulator.exec(name, 'leaf1', ['cat'], { input: 'hello' })).stdout, 'hello');
  const slow = await emulator.exec(name, 'leaf1', ['sleep', '5'], { timeoutMs: 200 });
  t.is(slow.exitCode, -1);
  t.regex(slow.stderr, /timeout/);

  const unknown = await emulator.exec(name, 'leaf9', ['true']).then(() => undefined, (e: unknown) => e);
  t.is(labErrorCode(unknown), ExitCode.badInput);
  t.regex((unknown as Error).message, /leaf9.*spine-sw1/);
  const stopped = await emulator.exec('eml-not-up', 'leaf1', ['true']).then(() => undefined, (e: unknown) => e);
  t.is(labErrorCode(stopped), ExitCode.notRunning);

  // Convergence that cannot happen times out naming what is missing (exit 1).
  const { waitForConvergence } = await import('../../src/observe/converge.js');
  const ghost = { ...p.intent.sessions.find((x) => x.speaker === 'leaf1')!, peer: 'ghost', peerIp: '10.0.101.250' };
  const notConverged = await waitForConvergence({ ...p, intent: { ...p.intent, sessions: [...p.intent.sessions, ghost] } }, emulator, { timeoutMs: 600 })
    .then(() => undefined, (e: unknown) => e);
  t.is(labErrorCode(notConverged), ExitCode.verifyFailed);
  t.regex((notConverged as Error).message, /did not converge[\s\S]*bgp-session leaf1 -> ghost \(10\.0\.101\.250\): expected Established, observed not configured/);
  t.notRegex((notConverged as Error).message, /spine-sw1/, 'only what failed is named');

  // capture: armed before the ping, stopped after 2 packets, VXLAN seen.
  const a = p.pods[0];
  const b = p.pods.find((x) => p.nodes.find((n) => n.name === x.node)!.rack !== p.nodes.find((n) => n.name === a.node)!.rack)!;
  let listening = false;
  const lines: string[] = [];
  const cap = emulator.capture(name, a.node, 'eth0', ['udp', 'port', '4789'], {
    packets: 2,
    onListening: () => { listening = true; void pingTtl(name, a.name, b.ip); },
    onLine: (l) => lines.push(l),
  });
  const r = await cap;
  t.true(listening);
  t.is(r.exitCode, 0, r.stderr);
  t.regex(r.stdout, /VXLAN, flags \[I\] \(0x08\), vni 4096/);
  t.true(lines.some((l) => l.includes('vni 4096')));
  // durationMs ends a capture that sees nothing.
  const t0 = Date.now();
  const quiet = await emulator.capture(name, 'spine-sw1', 'lo', ['udp', 'port', '9'], { durationMs: 300 });
  t.is(quiet.exitCode, 0, quiet.stderr);
  t.true(Date.now() - t0 < 3000);

  // status: all alive; a killed bgpd shows.
  const st = await emulator.status(name);
  t.true(st.running);
  t.is(st.devices.length, p.switches.length + p.nodes.length + p.pods.length);
  t.true(st.devices.every((d) => d.alive), JSON.stringify(st.devices.filter((d) => !d.alive)));
  const bgpdPid = Number((await inNs(nsOf(name, 'leaf2'), ['cat', `/var/run/frr/${nsOf(name, 'leaf2')}/bgpd.pid`])).stdout);
  process.kill(bgpdPid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  const leaf2 = (await emulator.status(name)).devices.find((d) => d.name === 'leaf2')!;
  t.false(leaf2.alive);
  t.regex(leaf2.detail, /bgpd not running/);

  await downClean(t, name);
  t.false((await emulator.status(name)).running);
});

serial('a CLI killed with SIGKILL in the middle of up: down still removes everything', async (t) => {
  const name = 'eml-killed';
  const p = await planAs('calico-bgp', name);
  const dir = await artifactsFor(p);
  // A separate process runs `up` and dies without any chance to clean up.
  const script = [
    "const { emulator } = await import('./src/providers/emulator/index.ts');",
    "const { loadLab } = await import('./src/lab/load.ts');",
    "const { plan } = await import('./src/plan/index.ts');",
    `const p = { ...plan(await loadLab('calico-bgp')), name: '${name}' };`,
    // Die once a daemon of the lab really exists (a fixed delay is too short under load).
    "const { processesMentioning } = await import('./test/integration/emulator-helpers.ts');",
    `const dieOnceDaemons = () => processesMentioning('${name}').then((ps) => ps.length ? process.kill(process.pid, 'SIGKILL') : setTimeout(dieOnceDaemons, 5));`,
    "const progress = { phase: (t) => { if (t === 'daemons') dieOnceDaemons(); return () => {}; }, info: () => {} };",
    `await emulator.up(p, ${JSON.stringify(dir)}, progress);`,
  ].join('\n');
  started.add(name);
  const child = await execa(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
    reject: false, env: { FABRIC_LAB_STATE: stateRoot }, timeout: 60_000,
  });
  t.is(child.signal, 'SIGKILL', child.stderr);
  t.true((await processesMentioning(name)).length > 0, 'some daemons were running when the CLI died');
  // Daemons may have been spawned but not yet recorded: down finds them in the namespaces.
  t.true((await leftovers(name, stateRoot, [])).some((x) => x.startsWith('netns')), 'namespaces were created');
  await downClean(t, name);
});
