// `lab list`: a summary of every lab in labs/. One broken file shows its problems in
// its own row instead of hiding the others.
import path from 'node:path';
import { labsDir } from '../paths.js';
import { LabError } from '../errors.js';
import { podNetworking, type Lab, type PodNetworking } from './types.js';
import { labNames, loadLab } from './load.js';

export interface LabCounts { spines: number; leaves: number; nodes: number; pods: number }

export type LabSummary =
  | {
    ok: true; name: string; file: string; description: string;
    underlay: 'fabric' | 'lan';
    networking: PodNetworking;
    counts: LabCounts;
  }
  | { ok: false; name: string; file: string; error: string };

export function summarize(lab: Lab): LabSummary {
  return {
    ok: true, name: lab.name, file: lab.file, description: lab.description,
    underlay: lab.fabric ? 'fabric' : 'lan',
    networking: podNetworking(lab),
    counts: {
      spines: lab.fabric?.spines.length ?? 0,
      leaves: lab.fabric?.leaves.length ?? 0,
      nodes: lab.kubernetes?.nodes.length ?? 0,
      pods: lab.workloads.reduce((n, w) => n + w.replicas, 0),
    },
  };
}

export async function listLabs(dir = labsDir): Promise<LabSummary[]> {
  const names = await labNames(dir);
  return Promise.all(names.map(async (name): Promise<LabSummary> => {
    const file = path.join(dir, `${name}.yaml`);
    try {
      return summarize(await loadLab(file));
    } catch (err) {
      if (!(err instanceof LabError)) throw err;
      return { ok: false, name, file, error: err.message };
    }
  }));
}
