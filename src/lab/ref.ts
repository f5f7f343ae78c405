// LAB arguments: a name in labs/ or a path to a lab file. Kept apart from the loader
// so commands that only need the name (down, status) do not load the validator.
import path from 'node:path';
import { labsDir } from '../paths.js';

/** A lab name (labs/NAME.yaml) or a path to a lab file. */
export function resolveLabFile(ref: string): string {
  if (ref.includes('/') || ref.endsWith('.yaml') || ref.endsWith('.yml')) return path.resolve(ref);
  return path.join(labsDir, `${ref}.yaml`);
}
