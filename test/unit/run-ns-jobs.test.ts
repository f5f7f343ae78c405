// Per-namespace build steps (runNsJobs): each tool fed its lines, a failure naming the
// namespace and the line, later namespaces not started. Needs root (network namespaces).
import test from 'ava';
import { execa } from 'execa';
import { runNsJobs } from '../../src/providers/emulator/run.js';

const root = process.getuid?.() === 0;

test('steps run in their namespace, in order; a bad line is named with its namespace', async (t) => {
  if (!root) return t.pass('needs root to make network namespaces');
  const [a, b] = ['a', 'b'].map((x) => `fl-nsjobs-${process.pid}-${x}`);
  for (const ns of [a, b]) await execa('ip', ['netns', 'add', ns]);
  try {
    await runNsJobs([
      { ns: a, ip: ['link set lo mtu 1400', 'link set lo up'] },
      { ns: b, ip: ['link set lo mtu 1300'], iptables: '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' },
    ]);
    const lo = async (ns: string) => JSON.parse((await execa('ip', ['-n', ns, '-j', 'link', 'show', 'lo'])).stdout)[0];
    t.like(await lo(a), { mtu: 1400, operstate: 'UNKNOWN' });
    t.is((await lo(b)).mtu, 1300);
    t.regex((await execa('ip', ['netns', 'exec', b, 'iptables-save', '-t', 'filter'])).stdout, /:FORWARD DROP/);
    const e = await t.throwsAsync(runNsJobs([{ ns: a, ip: ['link set lo mtu 1500', 'route add 10.9.0.0/24 via 10.8.0.1', 'link set lo mtu 1600'] }]));
    t.regex(e!.message, new RegExp(`ip in ${a} \\(line "route add 10.9.0.0/24 via 10.8.0.1"\\)`));
    t.is((await lo(a)).mtu, 1500, 'the batch stopped at the bad line');
    const gone = await t.throwsAsync(runNsJobs([{ ns: `fl-nsjobs-${process.pid}-missing`, ip: ['link set lo up'] }]));
    t.regex(gone!.message, /cannot enter/);
  } finally {
    for (const ns of [a, b]) await execa('ip', ['netns', 'del', ns]);
  }
});
