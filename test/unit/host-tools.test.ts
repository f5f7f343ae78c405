import test from 'ava';
import { missingTools, packagesOf, requireTools } from '../../src/providers/host-tools.js';
import { requiredTools } from '../../src/providers/emulator/host.js';
import { TOOLS as libvirtTools } from '../../src/providers/libvirt/host.js';
import { LabError } from '../../src/errors.js';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';

test('a missing tool: exit 4 naming the binary and the apt-get line; present tools pass', async (t) => {
  const tools = [{ bin: 'sh', pkg: 'dash' }, { bin: 'fabric-lab-no-such-tool', pkg: 'nosuch-pkg' }, { bin: '/no/such/file', pkg: 'nosuch-pkg' }];
  t.deepEqual((await missingTools(tools)).map((x) => x.bin), ['fabric-lab-no-such-tool', '/no/such/file']);
  t.deepEqual(packagesOf(await missingTools(tools)), ['nosuch-pkg']);
  const err = await t.throwsAsync(requireTools(tools, 'the emulator'), { instanceOf: LabError });
  t.is(err!.exitCode, 4);
  t.regex(err!.message, /fabric-lab-no-such-tool/);
  t.regex(err!.message, /apt-get install nosuch-pkg\)$/);
  await t.notThrowsAsync(requireTools([{ bin: 'sh', pkg: 'dash' }], 'x'));
});

test('emulator tools follow the plan: FRR for a fabric, BIRD only with node BGP, iptables for NAT/bridge', async (t) => {
  const pkgs = async (name: string) => packagesOf(requiredTools(plan(await loadLab(name))));
  t.true((await pkgs('calico-vxlan')).includes('frr'));
  t.false((await pkgs('calico-vxlan')).includes('bird2'));
  t.true((await pkgs('calico-bgp')).includes('bird2'));
  t.false((await pkgs('bridge-static')).includes('frr'));
  t.true((await pkgs('bridge-static')).includes('iptables'));
  // The exec helpers and the daemon spawner are Python: a lab without pods needs it too.
  const fabricOnly = { ...plan(await loadLab('calico-bgp')), pods: [] };
  t.true(packagesOf(requiredTools(fabricOnly)).includes('python3'));
});

test('every package a provider can ask for is in scripts/debian-packages.txt (what CI installs)', async (t) => {
  const { readFile } = await import('node:fs/promises');
  const listed = new Set((await readFile(new URL('../../scripts/debian-packages.txt', import.meta.url), 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
  const asked = new Set([...libvirtTools, ...requiredTools(plan(await loadLab('calico-bgp'))), ...requiredTools(plan(await loadLab('bridge-static')))].map((x) => x.pkg));
  for (const p of asked) if (p !== 'util-linux') t.true(listed.has(p), `${p} missing from debian-packages.txt`);
});
