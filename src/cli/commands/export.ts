// `lab export LAB --format containerlab [-o FILE]`: load -> plan -> export (pure), then
// write the .clab.yml and its config folder beside it. Nothing is overwritten without
// --force (as capture -w), and a folder the tool did not write is never touched (as
// render --out): everything is checked before the first byte is written.
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { badInput } from '../../errors.js';
import { loadPlan } from '../load.js';
import { DEFAULT_HOST_IMAGE, DEFAULT_SWITCH_IMAGE, exportContainerlab } from '../../export/containerlab.js';
import { MANIFEST, writeArtifacts } from '../../render/index.js';

export interface ExportOptions { format: string; output?: string; force?: boolean; switchImage?: string; hostImage?: string }

/** `x.clab.yml` -> `x-clab` (the folder of the files its nodes bind). */
export function configDirName(file: string): string {
  return `${path.basename(file).replace(/(\.clab)?\.ya?ml$/, '')}-clab`;
}

export async function exportCmd(ref: string, o: ExportOptions): Promise<number> {
  if (o.output === '-') throw badInput('-o -: the topology binds the files written beside it, so it needs a file name (e.g. -o lab.clab.yml)');
  const p = await loadPlan(ref);
  const file = path.resolve(o.output ?? `${p.name}.clab.yml`);
  const dirName = configDirName(file);
  const dir = path.join(path.dirname(file), dirName);
  const shown = (f: string) => path.relative(process.cwd(), f) || f;
  const out = exportContainerlab(p, {
    topologyFile: path.basename(file), configDir: dirName,
    switchImage: o.switchImage ?? DEFAULT_SWITCH_IMAGE, hostImage: o.hostImage ?? DEFAULT_HOST_IMAGE,
  });

  const st = await lstat(file).catch(() => undefined);
  if (st && !o.force) throw badInput(`${shown(file)} exists: not overwriting it (add --force to replace it and its ${dirName}/)`);
  if (st && !st.isFile()) throw badInput(`${shown(file)} is not a regular file: not writing the topology there`);
  const dst = await lstat(dir).catch(() => undefined);
  if (dst && !o.force) throw badInput(`${shown(dir)}/ exists: not overwriting it (add --force to replace what an earlier export wrote there)`);
  if (dst?.isDirectory()) {
    // writeArtifacts refuses a non-empty folder it did not write; ask it before writing the topology.
    const { readdir } = await import('node:fs/promises');
    const entries = await readdir(dir);
    if (entries.length && !entries.includes(MANIFEST)) {
      throw badInput(`${shown(dir)}/ is not empty and was not written by lab export (no ${MANIFEST}): nothing written; move it or choose another -o`);
    }
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeArtifacts(dir, out.files, { what: `${shown(dir)}/`, tool: 'lab export' });
  await writeFile(file, out.topology, { flag: o.force ? 'w' : 'wx' });
  const here = path.dirname(file) === process.cwd();
  console.log(`wrote ${shown(file)} (${out.containers} containers, ${out.links} links, ${p.pods.length} pods as network namespaces) and ${out.files.length} files in ${shown(dir)}/`);
  console.log(`  containerlab deploy -t ${shown(file)}`);
  console.log(`  ${here ? '' : `cd ${shown(path.dirname(file))} && `}clabverter --topologyFile ${path.basename(file)} --stdout | kubectl apply -f -   # clabernetes`);
  return 0;
}
