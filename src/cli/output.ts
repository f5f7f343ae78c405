// Terminal output: colour only on a TTY (and never with NO_COLOR), plain aligned tables.
const useColor = () => !!process.stdout.isTTY && !process.env.NO_COLOR;
const wrap = (code: number, reset: number) => (s: string) => (useColor() ? `\x1b[${code}m${s}\x1b[${reset}m` : s);
export const c = { bold: wrap(1, 22), dim: wrap(2, 22), red: wrap(31, 39), green: wrap(32, 39), yellow: wrap(33, 39), cyan: wrap(36, 39) };
export const colorEnabled = useColor;

// eslint-disable-next-line no-control-regex
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

/** Columns padded to their widest cell; the header in bold. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ''))));
  const line = (cells: string[]) => cells.map((x, i) => (i === cells.length - 1 ? x : x + ' '.repeat(widths[i] - visible(x)))).join('  ').trimEnd();
  return [c.bold(line(header)), ...rows.map(line)].join('\n');
}

export function printJson(x: unknown): void {
  process.stdout.write(JSON.stringify(x, null, 2) + '\n');
}
