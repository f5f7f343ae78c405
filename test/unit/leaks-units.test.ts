// Issue 14 pieces that need no root: injective names, ownership rules, the atomic JSON
// state helper and its damaged results, the registry, the per-lab lock (released even on
// SIGKILL of its holder), tcpdump argument filtering, lab-file read limits, render --out.
import test from 'ava';
import { execa } from 'execa';
import { mkdtemp, mkdir, readFile, stat, symlink, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LabError, LabFileError } from '../../src/errors.js';
import { birdSocket, namespaceOf, ownsNamespace, ownsPath, namespacePrefix } from '../../src/providers/emulator/names.js';
import { readJson, writeJsonAtomic, checkFields } from '../../src/state/json-file.js';
import { filterCaptureArgs, captureArgv } from '../../src/providers/capture-args.js';
import { loadLab } from '../../src/lab/load.js';
import { renderAll, writeArtifacts, MANIFEST } from '../../src/render/index.js';
import { plan } from '../../src/plan/index.js';
import { runKey } from '../../src/workshop/instance.js';

const tmp = (p: string) => mkdtemp(path.join(tmpdir(), `lk-${p}-`));
const code = (e: unknown) => (e instanceof LabError ? e.exitCode : undefined);

test('namespace names are injective: lab rel + vx-leaf1 and lab rel-vx + leaf1 differ; instances never alias', (t) => {
  t.not(namespaceOf('rel', 'vx-leaf1'), namespaceOf('rel-vx', 'leaf1'));
  t.is(namespaceOf('rel', 'vx-leaf1'), 'fl_rel_vx-leaf1');
  t.not(namespaceOf(runKey('a', 'b'), 'c'), namespaceOf('a', 'b-c'));
  t.true(ownsNamespace('rel', 'fl_rel_vx-leaf1'));
  t.false(ownsNamespace('rel', 'fl_rel-vx_leaf1'));
  t.false(ownsNamespace('a', namespaceOf(runKey('a', 's1'), 'leaf1')), 'the default copy does not own an instance\'s names');
  t.true(ownsNamespace(runKey('a', 's1'), namespaceOf(runKey('a', 's1'), 'leaf1')));
  t.false(ownsNamespace('a', 'fl_a_'));
  t.false(ownsNamespace('a', 'fl_a_../x'));
  // Longest names: still owned, under the socket limit, distinct.
  const lab = 'l'.repeat(20);
  const key = runKey(lab, 'i'.repeat(20));
  const a = namespaceOf(key, `${'d'.repeat(62)}a`);
  const b = namespaceOf(key, `${'d'.repeat(62)}b`);
  t.not(a, b);
  t.true(a.length <= 60 && ownsNamespace(key, a));
  t.true(`/var/run/frr/${a}/zserv.api`.length < 108);
  t.true(birdSocket(key, 'd'.repeat(63)).length < 108);
  t.true(namespaceOf(key, 'x').startsWith(namespacePrefix(key)));
});

test('ownsPath: only the lab\'s own directories, no .. tricks', (t) => {
  t.true(ownsPath('lk', `/etc/frr/${namespaceOf('lk', 'leaf1')}`));
  t.true(ownsPath('lk', `/var/run/frr/${namespaceOf('lk', 'leaf1')}/zebra.pid`));
  t.false(ownsPath('lk', '/etc/frr'));
  t.false(ownsPath('lk', `/etc/frr/${namespaceOf('other', 'leaf1')}`));
  t.false(ownsPath('lk', '/etc/shadow'));
  t.false(ownsPath('lk', `/etc/frr/${namespaceOf('lk', 'leaf1')}/../../shadow`));
  t.false(ownsPath('lk', 'relative/path'));
});

test('state files: written atomically, missing and damaged are typed results, never exceptions', async (t) => {
  const dir = await tmp('json');
  const file = path.join(dir, 'sub', 's.json');
  const check = (v: unknown) => checkFields(v, { lab: 'string' });
  t.deepEqual(await readJson(file, check), { kind: 'missing' });
  await writeJsonAtomic(file, { lab: 'x' });
  t.deepEqual(await readJson(file, check), { kind: 'ok', value: { lab: 'x' } });
  t.deepEqual(await readdir(path.dirname(file)), ['s.json'], 'no temporary file left');
  await writeFile(file, '{"lab": "x"');
  t.like(await readJson(file, check), { kind: 'damaged' });
  await writeFile(file, '');
  t.like(await readJson(file, check), { kind: 'damaged', reason: 'empty' });
  await writeFile(file, '{"lab": 3}');
  t.like(await readJson(file, check), { kind: 'damaged', reason: 'field "lab" is not a string' });
  await mkdir(path.join(dir, 'd.json'));
  t.like(await readJson(path.join(dir, 'd.json'), check), { kind: 'damaged' });
});

test('registry: a damaged entry is listed as damaged, the others still read', async (t) => {
  const root = await tmp('reg');
  const r = await execa(process.execPath, ['--import=tsx', '--input-type=module', '-e', `
    const reg = await import('./src/providers/registry.ts');
    const { writeFileSync } = await import('node:fs');
    await reg.recordRunning({ lab: 'ok1', provider: 'emulator', labFile: 'f', artifactsDir: 'd', startedAt: 't' });
    writeFileSync(process.env.FABRIC_LAB_STATE + '/labs/bad.json', '{"lab"');
    console.log(JSON.stringify(await reg.listRegistry()));`], { env: { FABRIC_LAB_STATE: root }, reject: false });
  t.is(r.exitCode, 0, r.stderr);
  const list = JSON.parse(r.stdout);
  t.is(list.length, 2);
  t.like(list[0], { lab: 'bad' });
  t.truthy(list[0].damaged);
  t.like(list[1], { lab: 'ok1', provider: 'emulator' });
});

test('lock: a second taker sees the holder; the lock is released when the holder is SIGKILLed', async (t) => {
  const root = await tmp('lock');
  const env = { FABRIC_LAB_STATE: root };
  // A holder that takes the lock and waits forever.
  const holder = execa(process.execPath, ['--import=tsx', '--input-type=module', '-e', `
    const { acquireLabLock } = await import('./src/state/lock.ts');
    await acquireLabLock('lk', { command: 'up lk' });
    console.log('held');
    setInterval(() => {}, 1000);`], { env, reject: false });
  await new Promise<void>((resolve) => holder.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('held')) resolve(); }));
  const probe = (mode: 'fail' | 'wait') => execa(process.execPath, ['--import=tsx', '--input-type=module', '-e', `
    const { acquireLabLock } = await import('./src/state/lock.ts');
    const lock = await acquireLabLock('lk', { command: 'down lk', onBusy: (h) => { console.log('busy ' + (h ? h.command + ' ' + h.pid : '?')); if (${JSON.stringify(mode)} === 'fail') process.exit(3); return 'wait'; } });
    console.log('acquired');
    await lock.release();`], { env, reject: false });
  const busy = await probe('fail');
  t.is(busy.exitCode, 3);
  t.is(busy.stdout, `busy up lk ${holder.pid}`);
  const waiting = probe('wait');
  await new Promise<void>((resolve) => waiting.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('busy')) resolve(); }));
  holder.kill('SIGKILL');
  await holder;
  const w = await waiting;
  t.regex(w.stdout, /busy up lk \d+\nacquired/);
  t.deepEqual((await readdir(path.join(root, 'locks'))).sort(), [], 'release removes the lock and holder files');
});

test('capture arguments: display options and a filter pass; anything that writes, runs or reads files is refused', (t) => {
  t.deepEqual(captureArgv(['-nn', '-v', '-e', '-s', '96', 'udp', 'port', '4789']), ['-nn', '-v', '-e', '-s', '96', '--', 'udp', 'port', '4789']);
  t.deepEqual(filterCaptureArgs(['-T', 'vxlan', '-tttt']).options, ['-T', 'vxlan', '-tttt']);
  for (const bad of [['-w', '/etc/x'], ['-z', 'hook.sh'], ['-Z', 'root'], ['-r', 'f'], ['-F', 'f'], ['-C', '1'], ['-G', '1'], ['-W', '2'], ['-i', 'eth1'], ['-V', 'list'],
    ['host', '1.2.3.4', '-w', '/etc/x'], ['-nw', '/x'], ['-s', '1; rm'], ['--relinquish-privileges=root']]) {
    const e = t.throws(() => filterCaptureArgs(bad), undefined, bad.join(' '));
    t.is(code(e), 2);
  }
});

test('lab files: a FIFO, /dev/zero, a directory and an oversize file are refused before reading; a non-lab file is never echoed', async (t) => {
  const dir = await tmp('labfile');
  const fifo = path.join(dir, 'fifo.yaml');
  await execa('mkfifo', [fifo]);
  const t0 = Date.now();
  t.regex((await t.throwsAsync(loadLab(fifo)))!.message, /not a regular file \(a named pipe\)/);
  t.true(Date.now() - t0 < 2000, 'a FIFO must not hang');
  t.regex((await t.throwsAsync(loadLab('/dev/zero')))!.message, /not a regular file \(a character device\)/);
  t.regex((await t.throwsAsync(loadLab(dir + '/')))!.message, /directory/);
  const big = path.join(dir, 'big.yaml');
  await writeFile(big, 'x'.repeat(3 << 20));
  t.regex((await t.throwsAsync(loadLab(big)))!.message, /far too large/);
  // A password-file look-alike behind a symlink: one short problem, no line of it echoed whole.
  const secret = path.join(dir, 'shadow');
  const lines = Array.from({ length: 20 }, (_, i) => `user${i}:$y$j9T$SECRETHASH${i}abcdefghijklmnopqrstuvwxyz:19000:0:99999:7:::`);
  await writeFile(secret, lines.join('\n') + '\n');
  const link = path.join(dir, 'lk-x.yaml');
  await symlink(secret, link);
  const e = await t.throwsAsync(loadLab(link));
  t.true(e instanceof LabFileError);
  t.is((e as LabFileError).problems.length, 1);
  t.notRegex(e!.message, /SECRETHASH1[0-9]|user19/);
  t.true(e!.message.length < 400, e!.message);
  // The same as a mapping of unknown keys.
  await writeFile(secret, lines.map((l) => l.replace(':', ': ')).join('\n'));
  const e2 = await t.throwsAsync(loadLab(link));
  t.is((e2 as LabFileError).problems.length, 1);
  t.regex(e2!.message, /does not look like a lab file/);
  t.notRegex(e2!.message, /user1[0-9]/);
  // A mapping of keys none of which is a lab's.
  await writeFile(secret, lines.map((l) => l.split(':')[0] + ': x').join('\n'));
  const e3 = await t.throwsAsync(loadLab(link));
  t.is((e3 as LabFileError).problems.length, 1);
  t.regex(e3!.message, /does not look like a lab file.*"user0"/);
});

test('render --out: refuses a non-empty folder it did not write and keeps its files; an existing file is bad input; its own folder is re-rendered', async (t) => {
  const p = plan(await loadLab('calico-vxlan'));
  const artifacts = renderAll(p);
  const foreign = await tmp('out');
  await mkdir(path.join(foreign, 'kubernetes', 'pki'), { recursive: true });
  await writeFile(path.join(foreign, 'kubernetes', 'pki', 'ca.key'), 'KEY');
  const e = await t.throwsAsync(writeArtifacts(foreign, artifacts));
  t.is(code(e), 2);
  t.regex(e!.message, /not empty and was not written by lab render/);
  t.is(await readFile(path.join(foreign, 'kubernetes', 'pki', 'ca.key'), 'utf8'), 'KEY');
  const file = path.join(foreign, 'a-file');
  await writeFile(file, 'x');
  t.is(code(await t.throwsAsync(writeArtifacts(file, artifacts))), 2);
  // A fresh folder, then again (byte-identical), with a user file added in between: kept.
  const own = path.join(await tmp('own'), 'out');
  await writeArtifacts(own, artifacts);
  t.truthy(await stat(path.join(own, MANIFEST)));
  await writeFile(path.join(own, 'kubernetes', 'notes.txt'), 'mine');
  await writeArtifacts(own, artifacts.filter((a) => !a.path.startsWith('calico/')));
  t.is(await readFile(path.join(own, 'kubernetes', 'notes.txt'), 'utf8'), 'mine');
  t.false(await stat(path.join(own, 'calico')).then(() => true, () => false), 'files of the previous render it no longer writes are removed');
});
