// Progress on stderr: one line per phase with its duration, so a workshop sees where
// the seconds go.
import type { Progress } from '../providers/types.js';
import { c } from './output.js';

export function stderrProgress(): Progress & { total(): number } {
  const started = performance.now();
  const tty = !!process.stderr.isTTY && !process.env.NO_COLOR;
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
  return {
    phase(title) {
      const t0 = performance.now();
      if (tty) process.stderr.write(`  ${c.dim('…')} ${title}\r`);
      return (detail) => {
        const took = secs(performance.now() - t0);
        process.stderr.write(`${tty ? '\x1b[2K' : ''}  ${c.green('✔')} ${title}${detail ? c.dim(` (${detail})`) : ''} ${c.dim(took)}\n`);
      };
    },
    info(message) {
      process.stderr.write(`${tty ? '\x1b[2K' : ''}  ${c.dim(message)}\n`);
    },
    total: () => performance.now() - started,
  };
}
