// Where the tool's own files live. src/x.ts and dist/x.js sit at the same depth, so the
// repository root is one level up from this module in both.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const labsDir = path.join(repoRoot, 'labs');
/** Default artifact folder for `lab render` / `lab up`. */
export const defaultOutDir = (lab: string) => path.join(process.cwd(), '.lab', lab);
/** State of running labs (survives the CLI process; libvirt VMs survive reboots too). */
export const stateRoot = process.env.FABRIC_LAB_STATE ?? '/var/lib/fabric-lab';
