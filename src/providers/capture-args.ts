// What `lab capture ... -- ARGS` may pass to tcpdump: a filter expression and display
// options that only change how packets are printed. Anything that writes files, runs
// programs, changes user or reads other input (-w, -z, -Z, -r, -F, -V, -C, -G, -W, -i, -y
// ...) is refused, and the expression goes after `--` so no word of it can be taken for an
// option (GNU getopt would otherwise pick `-w FILE` out of the middle of an expression).
import { badInput } from '../errors.js';

/** Flags without a value that only change what is printed (may be combined: -nnvv, -eX). */
const DISPLAY_FLAGS = 'AeKlnNpqStUvxX#';
const LONG_FLAGS = new Set(['--number', '--immediate-mode', '--no-promiscuous-mode', '--no-optimize']);
/** Options with a value, and what the value may be. */
const VALUED: Record<string, { re: RegExp; what: string }> = {
  '-s': { re: /^\d{1,6}$/, what: 'a snapshot length in bytes' },
  '-c': { re: /^[1-9]\d{0,8}$/, what: 'a packet count' },
  '-T': { re: /^[a-z0-9_]{1,16}$/, what: 'a packet type such as vxlan' },
  '-Q': { re: /^(in|out|inout)$/, what: 'in, out or inout' },
  '-B': { re: /^\d{1,7}$/, what: 'a buffer size in KiB' },
};

export interface CaptureArgs { options: string[]; expression: string[] }

/** Split and check the user's tcpdump words; throws bad input (exit 2) naming what is refused. */
export function filterCaptureArgs(words: string[]): CaptureArgs {
  const options: string[] = [];
  const expression: string[] = [];
  const refused: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    if (w === '--') { expression.push(...words.slice(i + 1)); break; }
    if (!w.startsWith('-') || w === '-') { expression.push(w); continue; }
    if (expression.length) { refused.push(`"${w}" inside the filter expression (options go before it)`); continue; }
    if (LONG_FLAGS.has(w)) { options.push(w); continue; }
    const flag = w.slice(0, 2);
    const valued = VALUED[flag];
    if (valued) {
      const value = w.length > 2 ? w.slice(2) : words[++i];
      if (value === undefined || !valued.re.test(value)) refused.push(`${flag} needs ${valued.what}, got ${value === undefined ? 'nothing' : `"${value.slice(0, 30)}"`}`);
      else options.push(flag, value);
      continue;
    }
    if (/^-t{1,5}$/.test(w) || [...w.slice(1)].every((ch) => DISPLAY_FLAGS.includes(ch))) { options.push(w); continue; }
    refused.push(`"${w.slice(0, 30)}"`);
  }
  if (refused.length) {
    throw badInput(`capture: tcpdump option${refused.length > 1 ? 's' : ''} not allowed: ${refused.join(', ')}\n`
      + `  allowed: a filter expression, display flags -${DISPLAY_FLAGS} -t..-ttttt ${[...LONG_FLAGS].join(' ')}, and ${Object.keys(VALUED).join(' ')} with a value;\n`
      + '  write pcap with `lab capture ... -w FILE` (or `-w -` for stdout), count with `-c N`');
  }
  return { options, expression };
}

/** The words for tcpdump: checked options, then `--` and the expression. */
export function captureArgv(words: string[]): string[] {
  const { options, expression } = filterCaptureArgs(words);
  return [...options, ...(expression.length ? ['--', ...expression] : [])];
}
