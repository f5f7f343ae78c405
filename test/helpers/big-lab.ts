// One big shipped lab through the CLI as a user runs it (test/alone/ in ./test.sh,
// test/scale/ behind `npm run test:scale`): the shipped file with only its name changed,
// `lab up`, raw checks of what the batched bring-up promises, `lab verify --json` green
// with every check kind the lab has and nothing unknown, then `lab down`,
// which must leave nothing: no namespace, no process it recorded (or that names the lab),
// no file under the state root, /etc/frr/<ns>, /var/run/frr/<ns>, /run/fabric-lab/<lab>,
// and the host's neighbour limits as they were. Timings are logged, never asserted
// (they belong in bench/).
import '../integration/emulator-env.js';
import type { ExecutionContext, TestFn } from 'ava';
import { execa } from 'execa';
import { access, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadLab } from '../../src/lab/load.js';
import { plan as planOf } from '../../src/plan/index.js';
import type { Plan } from '../../src/plan/types.js';
import type { CheckKind, Report } from '../../src/verify/index.js';
import { NEIGH_KEYS, neighbourEntries, wantedThresholds } from '../../src/providers/emulator/neigh.js';
import { namespaceOf, namespacePrefix, utsDir } from '../../src/providers/emulator/names.js';
import { RESPONDER, RESPONDER_NODES } from '../../src/providers/emulator/responder.js';
import type { EmulatorState } from '../../src/providers/emulator/state.js';
import { stateRoot } from '../../src/paths.js';
import { mainJs, root } from '../cli/helpers.js';
import { inNs, leftovers, processesMentioning } from '../integration/emulator-helpers.js';
import { alive, filesUnder } from '../integration/inventory.js';

export interface BigLab {
  /** The shipped lab (labs/<from>.yaml). */
  from: string;
  /** The name it runs under (the file's only change). */
  name: string;
  /** [switches, nodes, pods] of the plan. */
  size: [number, number, number];
  /** Every check kind verify must report for this lab. */
  kinds: CheckKind[];
  /**
   * Then a default-deny ingress NetworkPolicy in this namespace (every pod's): `lab policy
   * apply` programs every node, verify is green with every ping into it expected blocked,
   * `lab policy delete` undoes it.
   */
  denyIngressIn?: string;
}

/** The CLI, its progress (stderr) shown live in the test's output as well as returned. */
async function lab(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('node', [mainJs, ...args], { reject: false, env: { NO_COLOR: '1' }, cwd: root, stdin: 'ignore', stderr: ['pipe', 'inherit'], maxBuffer: 1e9 });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const sysctls = async () => Object.fromEntries(await Promise.all(NEIGH_KEYS.map(async (k) => [k, Number((await readFile(`/proc/sys/${k.replace(/\./g, '/')}`, 'utf8')).trim())] as const)));
const tail = (s: string, n = 3000) => s.slice(-n);

/** The shipped lab file with only its `name:` line changed. */
async function renamed(from: string, name: string): Promise<string> {
  const text = await readFile(path.join(root, 'labs', `${from}.yaml`), 'utf8');
  const copy = text.replace(/^name: .*$/m, `name: ${name}`);
  const file = path.join(await mkdtemp(path.join(tmpdir(), `fl-${name}-`)), `${name}.yaml`);
  await writeFile(file, copy);
  return file;
}

/**
 * The test of one big lab, as root (skipped otherwise), with a safety net: whatever ends
 * the test (a failed assertion, its timeout), the lab is taken down after the file.
 */
export function bigLabTest(test: TestFn, c: BigLab, timeoutMs: number): void {
  const isRoot = process.getuid?.() === 0;
  (isRoot ? test.serial : test.serial.skip)(`${c.from} (as ${c.name}): lab up, verify --json green with every check kind, down leaving nothing`, async (t) => {
    t.timeout(timeoutMs);
    await bigLabCase(t, c);
  });
  if (isRoot) {
    test.after.always(async () => {
      const ls = (d: string) => readdir(path.join(stateRoot, d)).catch(() => [] as string[]);
      if ([...await ls('labs'), ...await ls('emulator')].length) await lab(['down', c.name]);
      await rm(stateRoot, { recursive: true, force: true });
    });
  }
}

async function bigLabCase(t: ExecutionContext, c: BigLab): Promise<void> {
  const file = await renamed(c.from, c.name);
  const p: Plan = planOf(await loadLab(file));
  t.deepEqual([p.switches.length, p.nodes.length, p.pods.length], c.size, 'the plan has the shipped size');
  const before = await sysctls();
  const want = wantedThresholds(neighbourEntries(p));
  let state: EmulatorState | undefined;
  const readState = async () => JSON.parse(await readFile(path.join(stateRoot, 'emulator', c.name, 'state.json'), 'utf8')) as EmulatorState;
  try {
    // Up without its final verify: the verify below is the same code, with --json.
    const up = await lab(['up', file, '--no-verify']);
    t.log(`${c.name} lab up (exit ${up.code}):\n${tail(up.stderr)}`);
    t.is(up.code, 0, 'lab up');
    state = await readState();

    // The host's neighbour limits hold what the lab needs while it runs (and `up` said so
    // when it raised them), so the check after `down` that they are restored means something.
    const during = await sysctls();
    t.deepEqual(NEIGH_KEYS.filter((k) => !k.endsWith('thresh1') && during[k] < want[k]), [], 'neighbour limits raised to what the lab needs');
    if (NEIGH_KEYS.some((k) => !k.endsWith('thresh1') && before[k] < want[k])) t.regex(up.stderr, /raised the kernel's neighbour table limits/);

    // Seen with raw commands, not through verify: every namespace, every daemon alive.
    const prefix = namespacePrefix(c.name);
    const netns = (await readdir('/var/run/netns')).filter((n) => n.startsWith(prefix));
    t.is(netns.length, p.switches.length + p.nodes.length + p.pods.length, 'one namespace per switch, node and pod');
    const byDaemon = (d: string) => new Set(state!.processes.filter((x) => x.daemon === d).map((x) => x.pid)).size;
    const bgpNodes = p.nodes.filter((n) => n.bgp).length;
    t.deepEqual([byDaemon('zebra'), byDaemon('bgpd'), byDaemon('bird')], [p.switches.length, p.switches.length, bgpNodes], 'zebra and bgpd per switch, BIRD per BGP node');
    const served = new Set(p.pods.filter((x) => x.ports.length).map((x) => x.node)).size;
    t.is(byDaemon(RESPONDER), Math.ceil(served / RESPONDER_NODES), `one responder process per ${RESPONDER_NODES} nodes`);
    const dead = [];
    for (const pid of new Set(state.processes.map((x) => x.pid))) if (!(await alive(pid))) dead.push(pid);
    t.deepEqual(dead, [], 'every recorded process is alive');
    const sw = namespaceOf(c.name, p.switches[0].name);
    t.is((await inNs(sw, ['sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6'])).stdout.trim(), '1', 'the namespaces\' sysctls reached the switches');
    const pod = p.pods.find((x) => x.node === p.nodes[0].name);
    if (pod) t.is((await inNs(namespaceOf(c.name, p.nodes[0].name), ['sysctl', '-n', `net.ipv4.conf.${pod.hostIface}.proxy_arp`])).stdout.trim(), '1', "and the nodes' pod interfaces");
    t.false((await readFile('/proc/self/mountinfo', 'utf8')).includes(utsDir(c.name) + '/'), 'no UTS namespace is bound before a command runs on a device');

    const t0 = performance.now();
    const v = await lab(['verify', c.name, '--json']);
    const verifySecs = ((performance.now() - t0) / 1000).toFixed(1);
    const report = JSON.parse(v.stdout) as Report;
    const bad = report.checks.filter((x) => x.status !== 'pass').slice(0, 10).map((x) => `${x.kind} ${x.subject}: ${x.status}, expected ${x.expected}, observed ${x.observed}`);
    t.deepEqual(bad, [], 'verify is green');
    t.is(v.code, 0);
    t.true(report.ok);
    t.deepEqual(report.summary, { passed: report.checks.length, failed: 0, unknown: 0 });
    const seen = new Set(report.checks.map((x) => x.kind));
    t.deepEqual({ missing: c.kinds.filter((k) => !seen.has(k)), unexpected: [...seen].filter((k) => !c.kinds.includes(k)) }, { missing: [], unexpected: [] }, 'every check kind of the lab is reported');
    const kinds = Object.fromEntries(c.kinds.map((k) => [k, report.checks.filter((x) => x.kind === k).length]));
    t.log(`${c.name} verify (${verifySecs}s): ${report.checks.length} checks ${JSON.stringify(kinds)}, ${report.sample.pairs} of ${report.sample.of} pod pairs`);
    if (c.denyIngressIn) await denyIngress(t, c.name, c.denyIngressIn, p);
  } finally {
    state ??= await readState().catch(() => undefined);
    const pids = [...new Set(state?.processes.map((x) => x.pid) ?? [])];
    const down = await lab(['down', c.name]);
    t.log(`${c.name} lab down (exit ${down.code}):\n${tail(down.stderr)}`);
    const left = await leftovers(c.name, stateRoot, pids);
    left.push(...(await processesMentioning(c.name)).map((pid) => `process ${pid} names the lab`));
    for (const f of state?.paths ?? []) if (await access(f).then(() => true, () => false)) left.push(`recorded path ${f}`);
    const after = await sysctls();
    const neighbour = Object.fromEntries(NEIGH_KEYS.filter((k) => after[k] !== before[k]).map((k) => [k, `${before[k]} before, ${after[k]} after`]));
    // One assertion, so a failure shows everything that was left at once.
    t.deepEqual({ left, files: await filesUnder(stateRoot), neighbour }, { left: [], files: [], neighbour: {} }, `down leaves nothing (files: under ${stateRoot}) and the neighbour limits as before`);
    t.is(down.code, 0, down.stderr);
  }
}

/** A default-deny ingress policy on a big lab: applied to every node, verified (every ping into it blocked), deleted. */
async function denyIngress(t: ExecutionContext, name: string, namespace: string, p: Plan): Promise<void> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'fl-deny-')), 'deny.yaml');
  await writeFile(file, `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: deny-in, namespace: ${namespace} }\nspec: { podSelector: {}, policyTypes: [Ingress] }\n`);
  let t0 = performance.now();
  const apply = await lab(['policy', name, 'apply', file]);
  t.log(`${name} policy apply (${((performance.now() - t0) / 1000).toFixed(1)}s, exit ${apply.code}): ${apply.stdout.trim()}`);
  t.is(apply.code, 0, apply.stderr);
  t0 = performance.now();
  const v = await lab(['verify', name, '--json']);
  const report = JSON.parse(v.stdout) as Report;
  t.log(`${name} verify with the policy (${((performance.now() - t0) / 1000).toFixed(1)}s): ${JSON.stringify(report.summary)}`);
  t.deepEqual(report.checks.filter((x) => x.status !== 'pass').slice(0, 10).map((x) => `${x.kind} ${x.subject}: ${x.observed}`), [], 'verify is green with the policy in force');
  const inside = new Set(p.pods.filter((x) => x.namespace === namespace).map((x) => x.name));
  const pings = report.checks.filter((x) => x.kind === 'ping');
  t.true(pings.length > 0 && pings.every((x) => !inside.has(x.about?.dst ?? "") || x.expected.startsWith('no reply (blocked')), 'every ping into the namespace is expected blocked');
  t.is(report.checks.filter((x) => x.kind === 'ttl' && inside.has(x.about?.dst ?? "")).length, 0, 'no TTL read where no reply may come');
  const del = await lab(['policy', name, 'delete', 'deny-in', '-n', namespace]);
  t.is(del.code, 0, del.stderr);
}
