// applyFault against a fake provider that answers like this host's kernel (no netem):
// what runs, what is refused with exit 4, and that a refusal changes nothing.
import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ExecResult, Provider } from '../../src/providers/types.js';

process.env.FABRIC_LAB_STATE = mkdtempSync(path.join(tmpdir(), 'fault-apply-'));
const { loadLab } = await import('../../src/lab/load.js');
const { plan } = await import('../../src/plan/index.js');
const { parseFault } = await import('../../src/fault/model.js');
const { applyFault } = await import('../../src/fault/apply.js');
const { readFaults } = await import('../../src/fault/store.js');
const { LabError } = await import('../../src/errors.js');
const { clearFaults } = await import('../../src/fault/apply.js');
const { traceCannot, snapshotLab } = await import('../../src/teach/observers.js');

const NO_NETEM: ExecResult = { stdout: '', stderr: 'Error: Specified qdisc kind is unknown.\n', exitCode: 2 };
const OK: ExecResult = { stdout: '', stderr: '', exitCode: 0 };

/** A provider whose kernel has (or lacks) netem: every exec recorded as `device: argv`. */
function fakeKernel(netem: boolean, libvirt = false): Provider & { ran: string[] } {
  const ran: string[] = [];
  const exec = async (_lab: string, device: string, argv: string[]) => {
    ran.push(`${device}: ${argv.join(' ')}`);
    if (argv.slice(0, 4).join(' ') === 'ip -j link show') return { ...OK, stdout: '[{"mtu":1500}]' };
    return !netem && argv.includes('netem') ? NO_NETEM : OK;
  };
  return {
    name: libvirt ? 'libvirt' : 'emulator', ran,
    // As the two real providers declare them: libvirt reaches VMs over SSH, has no single-daemon control, and real Calico builds the pods.
    capabilities: libvirt ? { bird: true, fping: false, instances: false, outside: false, podDataplane: 'cni' } : { bird: true, fping: true, instances: true, outside: true, podDataplane: 'planned' },
    requiredTools: () => [], upReads: libvirt ? 'all' : 'fabric-configs',
    up: async () => undefined, down: async () => undefined, shell: async () => 0,
    status: async (lab) => ({ lab, provider: libvirt ? 'libvirt' : 'emulator', running: true, devices: [] }),
    exec, execBatch: async (lab, device, cmds) => Promise.all(cmds.map((c) => exec(lab, device, c))),
    capture: async () => OK,
    ...(libvirt ? {} : { daemon: async () => 'done' as const }),
  };
}

const vx = async () => plan(await loadLab('calico-vxlan'));

test('no netem: --loss and --rate fall back to nftables and tbf, on both sending ends', async (t) => {
  const p = await vx();
  const k = fakeKernel(false);
  const out = await applyFault(p, k, 'tz-a', parseFault(p, 'link', ['leaf1', 'spine-sw1'], { loss: '5%', rate: '10mbit' }));
  t.regex(out.faults[0].detail, /loss 5%, rate 10mbit, both directions \(tbf\/nftables: no netem in this kernel\)/);
  t.is(k.ran.filter((r) => r.includes(' tbf ')).length, 2);
  t.is(k.ran.filter((r) => r.includes('nft -f -')).length, 2);
});

test('no netem: --delay, --jitter, --corrupt exit 4 naming sch_netem and where it exists; nothing changed, the earlier fault kept', async (t) => {
  const p = await vx();
  const k = fakeKernel(false);
  const req = (o: Record<string, string>) => parseFault(p, 'link', ['leaf1', 'spine-sw1'], o);
  await applyFault(p, k, 'tz-b', req({ loss: '5%' }));
  const before = await readFaults('tz-b');
  const asked: Record<string, string>[] = [{ delay: '20ms' }, { delay: '20ms', jitter: '5ms' }, { corrupt: '1%' }, { delay: '20ms', loss: '1%' }];
  for (const o of asked) {
    k.ran.length = 0;
    const e = await t.throwsAsync(applyFault(p, k, 'tz-b', req(o)), { instanceOf: LabError });
    t.is(e!.exitCode, 4);
    t.regex(e!.message, /no netem queueing discipline \(kernel module sch_netem/);
    t.regex(e!.message, new RegExp(Object.keys(o).filter((x) => x !== 'loss').map((x) => `--${x}`).join(' and ')));
    t.regex(e!.message, /nothing was changed/);
    t.regex(e!.message, /npm run test:ipip/);
    t.regex(e!.message, /--loss \(nftables\) and --rate \(tbf\) work/);
    // Only the refused probe ran: the earlier loss fault was not undone, nothing else touched.
    t.deepEqual(k.ran.map((r) => r.replace(/ root netem .*/, ' root netem …')), ['spine-sw1: tc qdisc replace dev swp1 root netem …']);
    t.deepEqual(await readFaults('tz-b'), before);
  }
});

test('with netem: one tc netem per sending end, replacing an earlier impairment (undone first)', async (t) => {
  const p = await vx();
  const k = fakeKernel(true);
  await applyFault(p, k, 'tz-c', parseFault(p, 'link', ['leaf1', 'spine-sw1'], { loss: '5%' }));
  k.ran.length = 0;
  const out = await applyFault(p, k, 'tz-c', parseFault(p, 'link', ['leaf1', 'spine-sw1'], { delay: '20ms', jitter: '5ms', corrupt: '1%', from: 'leaf1' }));
  t.is(out.faults.length, 1);
  t.is(out.faults[0].detail, 'delay 20ms ± 5ms, corrupt 1%, from leaf1');
  t.deepEqual(k.ran, [
    'leaf1: tc qdisc replace dev swp1 root netem delay 20ms 5ms corrupt 1%', // the probe
    'leaf1: tc qdisc del dev swp1 root', 'spine-sw1: tc qdisc del dev swp1 root', // the earlier fault's undo
    'leaf1: tc qdisc replace dev swp1 root netem delay 20ms 5ms corrupt 1%',
  ]);
  t.deepEqual(out.faults[0].undo, [{ op: 'exec', device: 'leaf1', argv: ['tc', 'qdisc', 'del', 'dev', 'swp1', 'root'] }]);
});

// libvirt: the same commands through the provider's exec (SSH there), where they mean the
// same thing; where they cannot (no single-daemon control, pods and Felix's devices owned
// by real Kubernetes/Calico), exit 4 before anything runs.
test('libvirt: link, netem, mtu and peer-asn faults run the very commands the emulator runs, through its exec', async (t) => {
  const p = await vx();
  const runs = async (libvirt: boolean) => {
    const k = fakeKernel(true, libvirt);
    const lab = libvirt ? 'tz-lv' : 'tz-em';
    await applyFault(p, k, lab, parseFault(p, 'link', ['leaf1', 'spine-sw1', 'down'], {}));
    await applyFault(p, k, lab, parseFault(p, 'link', ['leaf2', 'k8s-node-l2-1'], { delay: '20ms', loss: '5%' }));
    await applyFault(p, k, lab, parseFault(p, 'mtu', ['k8s-node-l1-1', 'leaf1'], {}));
    await applyFault(p, k, lab, parseFault(p, 'peer-asn', ['leaf2', 'spine-sw2'], {}));
    const { failed } = await clearFaults(k, lab);
    t.deepEqual(failed, []);
    return k.ran;
  };
  const lv = await runs(true);
  t.deepEqual(lv, await runs(false));
  t.true(lv.includes('spine-sw1: ip link set dev swp1 down') && lv.includes('leaf1: ip link set dev swp1 down'));
  t.true(lv.includes('leaf2: tc qdisc replace dev swp3 root netem delay 20ms loss 5%'));
  t.true(lv.includes('k8s-node-l1-1: ip link set dev eth0 mtu 1400'));
  t.true(lv.some((r) => r.startsWith('leaf2: vtysh') && r.includes('neighbor 172.16.0.6 remote-as 64999') && r.endsWith('write memory')));
});

test('libvirt: daemon faults, a pod\'s cable and the VNI exit 4 saying why and what to do instead; nothing runs', async (t) => {
  const p = await vx();
  const k = fakeKernel(true, true);
  const pod = p.pods.find((x) => x.node === 'k8s-node-l2-1')!;
  const cases: [string, string[], Record<string, string>, RegExp[]][] = [
    ['daemon', ['leaf1', 'bgpd', 'stop'], {}, [/cannot stop or start single daemons/, /systemctl stop frr/]],
    ['link', ['k8s-node-l2-1', pod.name, 'down'], {}, [/real Kubernetes pods/, /fault the node's own cable instead \(lab fault tz-lv link k8s-node-l2-1 leaf2/, /ip route get POD-IP/]],
    ['link', [pod.name, 'k8s-node-l2-1'], { loss: '5%' }, [/real Kubernetes pods/]],
    ['mtu', ['k8s-node-l2-1', pod.name], {}, [/lab fault tz-lv mtu k8s-node-l2-1 leaf2/]],
    ['vni', ['k8s-node-l2-1'], {}, [/Felix owns vxlan.calico/, /FelixConfiguration vxlanVNI/]],
  ];
  for (const [what, args, o, why] of cases) {
    const e = await t.throwsAsync(applyFault(p, k, 'tz-lv', parseFault(p, what, args, o)), { instanceOf: LabError });
    t.is(e!.exitCode, 4, `${what} ${args.join(' ')}`);
    for (const w of why) t.regex(e!.message, w);
  }
  t.deepEqual(k.ran, []);
  t.deepEqual(await readFaults('tz-lv'), []);
});

test('libvirt: trace between switches and nodes reads the same tables; a pod as an end exits 4 pointing at its node; pods are not snapshotted', async (t) => {
  const p = await vx();
  const pod = p.pods[0];
  const lv = fakeKernel(true, true);
  t.is(traceCannot(p, lv.capabilities, lv.name, 'tz-lv', 'k8s-node-l2-1', undefined), undefined);
  t.regex(traceCannot(p, lv.capabilities, lv.name, 'tz-lv', pod.name, undefined)!, new RegExp(`lab trace tz-lv ${pod.node} IP`));
  t.regex(traceCannot(p, lv.capabilities, lv.name, 'tz-lv', 'leaf1', pod.name)!, /lab pods tz-lv.*lab trace tz-lv leaf1 IP/);
  const em = fakeKernel(true);
  t.is(traceCannot(p, em.capabilities, em.name, 'tz-em', pod.name, p.pods[1].name), undefined);
  await snapshotLab(p, lv);
  t.deepEqual(new Set(lv.ran.map((r) => r.split(':')[0])), new Set([...p.switches, ...p.nodes].map((d) => d.name)));
  await snapshotLab(p, em);
  t.true(em.ran.some((r) => r.startsWith(`${pod.name}:`)));
});
