// The libvirtd the libvirt provider starts in its own namespace is stopped, with the
// namespace, once no VM is left: nothing of the tool stays on the host (root only).
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { ensureLibvirtd, stopOurLibvirtdIfIdle, LIBVIRT_NETNS } from '../../src/providers/libvirt/host.js';

const runnable = process.getuid?.() === 0 && existsSync('/usr/sbin/libvirtd');
const serial = runnable ? test.serial : test.serial.skip;

/** Running, not a zombie waiting for PID 1 to reap it. */
const alive = (pid: number) => {
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
};

serial('ensureLibvirtd starts libvirtd in its namespace; stopOurLibvirtdIfIdle stops it and removes the namespace', async (t) => {
  const host = await ensureLibvirtd();
  if (host.netns !== LIBVIRT_NETNS) return t.pass(`a libvirtd this tool did not start runs (${host.netns ?? 'host namespace'}): left alone`);
  t.true(existsSync(`/run/netns/${LIBVIRT_NETNS}`));
  const pid = Number(readFileSync('/run/libvirtd.pid', 'utf8').trim());
  t.true(alive(pid), 'libvirtd runs');
  t.true(await stopOurLibvirtdIfIdle(), 'stopped (no domain was defined)');
  t.false(existsSync(`/run/netns/${LIBVIRT_NETNS}`), 'namespace removed');
  t.false(alive(pid), 'libvirtd is gone');
  t.false(await stopOurLibvirtdIfIdle(), 'idempotent');
});
