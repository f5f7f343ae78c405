// Every command runs through here: expected failures print their message and exit
// with their code; anything else is a bug, reported without a stack trace unless
// FABRIC_LAB_DEBUG is set.
import { LabError } from '../errors.js';
import { c } from './output.js';

export async function runCommand(fn: () => Promise<number | void>): Promise<void> {
  try {
    const code = await fn();
    process.exitCode = code ?? 0;
  } catch (e) {
    if (e instanceof LabError) {
      process.stderr.write(`${c.red('error:')} ${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    const err = e as Error;
    process.stderr.write(`${c.red('internal error:')} ${err?.message ?? String(e)}\n`);
    if (process.env.FABRIC_LAB_DEBUG) process.stderr.write(`${err?.stack ?? ''}\n`);
    else process.stderr.write('  (set FABRIC_LAB_DEBUG=1 for details; this is a bug in fabric-lab, please report it)\n');
    process.exitCode = 70;
  }
}
