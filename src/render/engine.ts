// Handlebars, loaded once, with templates read from the folders they describe
// (fabric-configs/, vagrant/, ...). Strict mode: a missing field is an error, not a blank.
import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../paths.js';

const hbs = Handlebars.create();
hbs.registerHelper('join', (xs: unknown[], sep: unknown) => (Array.isArray(xs) ? xs.join(typeof sep === 'string' ? sep : ' ') : ''));

const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Render `relPath` (relative to the repository root) with `data`. */
export function renderTemplate(relPath: string, data: unknown): string {
  let t = cache.get(relPath);
  if (!t) {
    const src = readFileSync(path.join(repoRoot, relPath), 'utf8');
    t = hbs.compile(src, { noEscape: true, strict: true });
    cache.set(relPath, t);
  }
  return t(data);
}
