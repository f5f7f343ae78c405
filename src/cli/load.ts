// LAB arguments: a name in labs/ or a path. Planning errors are input errors.
import { loadLab } from '../lab/load.js';
import { plan as makePlan } from '../plan/index.js';
import type { Plan } from '../plan/types.js';
import { LabError, badInput } from '../errors.js';

export async function loadPlan(ref: string): Promise<Plan> {
  const lab = await loadLab(ref);
  try {
    return makePlan(lab);
  } catch (e) {
    if (e instanceof LabError) throw e;
    throw badInput(`${lab.file}: ${(e as Error).message}`);
  }
}
