// The big shipped labs render completely, quickly, and FRR's own grammar accepts their
// configs (one spine, one leaf each: the others differ only in numbers).
import test from 'ava';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadLab } from '../../src/lab/load.js';
import { plan } from '../../src/plan/index.js';
import { renderAll } from '../../src/render/index.js';

const dir = mkdtempSync(path.join(tmpdir(), 'sc-render-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

for (const name of ['dc-256', 'dc-256-vxlan', 'dc-1024']) {
  test(`${name}: every artifact renders in seconds; vtysh --dryrun accepts a spine and a leaf`, async (t) => {
    const p = plan(await loadLab(name));
    const started = performance.now();
    const arts = renderAll(p);
    const ms = performance.now() - started;
    t.true(ms < 5000, `${ms.toFixed(0)} ms`);
    for (const sw of ['spine1', p.switches[p.switches.length - 1].name]) {
      const conf = arts.find((a) => a.path === `fabric-configs/${sw}/frr.conf`)!.content;
      const file = path.join(dir, `${name}-${sw}.conf`);
      writeFileSync(file, conf);
      const r = await execa('vtysh', ['--dryrun', '-f', file], { reject: false, all: true });
      t.is(r.exitCode, 0, `${name} ${sw}: ${r.all}`);
      if (name === 'dc-1024' && sw.startsWith('leaf')) t.true(conf.includes('neighbor RACK default-originate'));
    }
  });
}
