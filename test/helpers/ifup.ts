// ifupdown2's offline check (`ifup -a -s -i FILE`) takes a host-wide lock even with -s,
// so two test files checking at once make one fail with "Another instance of this
// program is already running". Every caller goes through here: one at a time across
// processes (flock on a file of our own), and other holders of ifup's lock waited out.
import { execa } from 'execa';
import { mkdirSync } from 'node:fs';

const LOCK = '/run/network/fabric-lab-tests.lock';
const BUSY = 'Another instance of this program is already running';

export async function ifupCheckFile(file: string): Promise<{ exitCode: number; all: string }> {
  mkdirSync('/run/network', { recursive: true });
  for (let attempt = 0; ; attempt++) {
    const r = await execa('flock', [LOCK, 'ifup', '-a', '-s', '-i', file], { reject: false, all: true });
    const all = r.all ?? '';
    if (!all.includes(BUSY) || attempt >= 100) return { exitCode: r.exitCode ?? -1, all };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
