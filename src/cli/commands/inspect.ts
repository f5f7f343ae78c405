// Commands that only read lab files: list, show, render.
import path from 'node:path';
import { defaultOutDir } from '../../paths.js';
import { listLabs } from '../../lab/list.js';
import { loadPlan } from '../load.js';
import { renderAll, writeArtifacts } from '../../render/index.js';
import { table, printJson, c } from '../output.js';

export async function list(o: { json?: boolean }): Promise<number> {
  const labs = await listLabs();
  if (o.json) return printJson(labs), 0;
  console.log(table(['NAME', 'UNDERLAY', 'CNI', 'SPINES', 'LEAVES', 'NODES', 'PODS', 'DESCRIPTION'], labs.map((l) => l.ok
    ? [l.name, l.underlay, l.networking, ...[l.counts.spines, l.counts.leaves, l.counts.nodes, l.counts.pods].map(String), l.description]
    : [l.name, '-', '-', '-', '-', '-', '-', c.red(`invalid: ${l.error.split('\n')[0]}`)])));
  return labs.every((l) => l.ok) ? 0 : 2;
}

export async function show(ref: string, o: { json?: boolean }): Promise<number> {
  const p = await loadPlan(ref);
  if (o.json) {
    const { lab: _lab, ...rest } = p;
    // intent.pings: the pairs verify probes by default (its sampler), as the table says.
    const { samplePairs } = await import('../../verify/sample.js');
    const pings = [...samplePairs(p).bySource.values()].flat();
    return printJson({ ...rest, intent: { ...rest.intent, pings } }), 0;
  }
  console.log((await import('../show.js')).formatPlan(p));
  return 0;
}

export async function render(ref: string, o: { out?: string }): Promise<number> {
  const p = await loadPlan(ref);
  const dir = path.resolve(o.out ?? defaultOutDir(p.name));
  const artifacts = renderAll(p);
  await writeArtifacts(dir, artifacts);
  const groups = new Map<string, number>();
  for (const a of artifacts) groups.set(a.path.split('/')[0], (groups.get(a.path.split('/')[0]) ?? 0) + 1);
  console.log(`wrote ${artifacts.length} files to ${path.relative(process.cwd(), dir) || '.'}/`);
  for (const [g, n] of [...groups].sort()) console.log(`  ${g}${n > 1 || !g.includes('.') ? '/' : ''}  ${c.dim(`${n} file${n > 1 ? 's' : ''}`)}`);
  return 0;
}
