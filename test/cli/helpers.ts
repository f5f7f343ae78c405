// Run the compiled CLI as a user would (./test.sh compiles before ava runs).
import { execa, type ResultPromise } from 'execa';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const mainJs = path.join(root, 'dist/cli/main.js');
if (!existsSync(mainJs)) throw new Error('dist/cli/main.js missing: run ./test.sh (it compiles first) or npm run build');

export interface Run { code: number; stdout: string; stderr: string }

export async function lab(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const r = await execa('node', [mainJs, ...args], { reject: false, env: { NO_COLOR: '1', ...env }, cwd: root, stdin: 'ignore' });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function labProcess(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; all: true }> {
  return execa('node', [mainJs, ...args], { reject: false, all: true, env: { NO_COLOR: '1', ...env }, cwd: root, stdin: 'ignore' }) as unknown as ResultPromise<{ reject: false; all: true }>;
}

export const noStack = (s: string) => !/\n\s+at .+[:(]\d+/.test(s);
