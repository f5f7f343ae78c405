// Several commands in one exec (one process spawn, one SSH channel): a POSIX shell script
// that brackets each command's stdout and stderr with marker lines and prints its exit
// code, and the split of that exec's output back into one result per command. Both
// providers build their execBatch on it; the observation layer (src/observe/) asks for
// everything it needs from a device this way, once per observation round.
import { badInput } from '../errors.js';
import type { ExecResult } from './types.js';

const MARK = '@@fabric-lab-batch';

const SAFE_WORD = /^[A-Za-z0-9_\/.,:=+@%^-]+$/;

/** One argument as a POSIX shell word (every script this tool feeds a shell, here or over SSH). */
export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw badInput('a command argument contains a NUL byte');
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export const shellJoin = (argv: string[]): string => argv.map(shellQuote).join(' ');

/** The script: for each command, a start marker on both streams, the command, its exit code. */
export function batchScript(commands: string[][]): string {
  return commands.map((argv, i) => [
    `printf '\\n${MARK} ${i}\\n'`,
    `printf '\\n${MARK} ${i}\\n' >&2`,
    `${shellJoin(argv)} </dev/null`,
    `printf '\\n${MARK}-exit ${i} %s\\n' "$?"`,
  ].join('; ')).join('; ');
}

function sections(text: string): Map<number, string> {
  const out = new Map<number, string>();
  // The last marker may have lost its newline (execa strips the final one).
  const re = new RegExp(`\\n?${MARK} (\\d+)(?:\\n|$)`, 'g');
  const starts = [...text.matchAll(re)];
  starts.forEach((m, k) => {
    const from = m.index! + m[0].length;
    const to = k + 1 < starts.length ? starts[k + 1].index! : text.length;
    out.set(Number(m[1]), text.slice(from, to));
  });
  return out;
}

/**
 * One result per command. A command the exec never finished (the whole exec timed out or
 * failed) gets exit code -1 and the exec's own complaint, so the caller can tell "could not
 * observe" from an answer.
 */
export function splitBatch(whole: ExecResult, count: number): ExecResult[] {
  const outs = sections(whole.stdout);
  const errs = sections(whole.stderr);
  const exits = new Map([...whole.stdout.matchAll(new RegExp(`\\n?${MARK}-exit (\\d+) (\\d+)\\n?`, 'g'))].map((m) => [Number(m[1]), Number(m[2])]));
  const tail = whole.stderr.split(new RegExp(`\\n?${MARK} \\d+(?:\\n|$)`)).pop()?.trim() ?? '';
  return Array.from({ length: count }, (_, i) => {
    const stdout = (outs.get(i) ?? '').replace(new RegExp(`\\n?${MARK}-exit ${i} \\d+\\n*$`), '');
    const stderr = (errs.get(i) ?? '').replace(/\n+$/, '');
    const exitCode = exits.get(i);
    if (exitCode === undefined) {
      const why = whole.exitCode === 0 ? 'the batch ended before this command ran' : tail || `exit code ${whole.exitCode}`;
      return { stdout, stderr: `${stderr}${stderr ? '\n' : ''}${why}`, exitCode: -1 };
    }
    return { stdout, stderr, exitCode };
  });
}
