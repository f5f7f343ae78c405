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

const NO_NETEM: ExecResult = { stdout: '', stderr: 'Error: Specified qdisc kind is unknown.\n', exitCode: 2 };
const OK: ExecResult = { stdout: '', stderr: '', exitCode: 0 };

/** A provider whose kernel has no netem: every exec recorded as `device: argv`. */
function fakeKernel(netem: boolean): Provider & { ran: string[] } {
  const ran: string[] = [];
  const exec = async (_lab: string, device: string, argv: string[]) => {
    ran.push(`${device}: ${argv.join(' ')}`);
    return !netem && argv.includes('netem') ? NO_NETEM : OK;
  };
  return {
    name: 'emulator', capabilities: { bird: true, fping: true, instances: true }, ran,
    requiredTools: () => [], upReads: 'fabric-configs',
    up: async () => undefined, down: async () => undefined, shell: async () => 0,
    status: async (lab) => ({ lab, provider: 'emulator', running: true, devices: [] }),
    exec, execBatch: async (lab, device, cmds) => Promise.all(cmds.map((c) => exec(lab, device, c))),
    capture: async () => OK,
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
