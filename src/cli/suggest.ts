// "Did you mean ...?": the closest names to a typo. Pure.

/** Edit distance with adjacent transpositions (optimal string alignment), case-insensitive. */
export function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The candidates closest to `name` (ties all returned, in candidate order), if any is
 * close enough to be a typo: a third of the name's length, at least 1, or a prefix.
 */
export function closest(name: string, candidates: readonly string[]): string[] {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best = Infinity;
  let found: string[] = [];
  for (const c of new Set(candidates)) {
    const prefix = name.length >= 3 && c.toLowerCase().startsWith(name.toLowerCase());
    const dist = prefix ? 0.5 : distance(name, c);
    if (dist > limit) continue;
    if (dist < best) [best, found] = [dist, [c]];
    else if (dist === best) found.push(c);
  }
  return found;
}

/** " did you mean a, b or c?" (leading space), or "" when nothing is close. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const hits = closest(name, candidates);
  if (!hits.length) return '';
  const list = hits.length === 1 ? hits[0] : `${hits.slice(0, -1).join(', ')} or ${hits[hits.length - 1]}`;
  return ` did you mean ${list}?`;
}
