// Exit codes are a public contract (DESIGN section 5). Every expected failure is a
// LabError carrying its code; the CLI prints its message, never a stack trace.

export const ExitCode = {
  ok: 0,
  verifyFailed: 1,
  badInput: 2,
  notRunning: 3, // also "already running" for `up`
  hostLacks: 4,
  verifyUnknown: 5, // verify saw no failure but could not observe everything
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class LabError extends Error {
  constructor(message: string, readonly exitCode: ExitCodeValue) {
    super(message);
    this.name = 'LabError';
  }
}

/** One problem in a lab file, positioned: `file:line:col  path.to.field  message`. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}  ${p.path || '(file)'}  ${p.message}`;
}

/** All problems of a lab file, reported together (exit 2). */
export class LabFileError extends LabError {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'), ExitCode.badInput);
    this.name = 'LabFileError';
  }
}

export const badInput = (msg: string) => new LabError(msg, ExitCode.badInput);
export const hostLacks = (msg: string) => new LabError(msg, ExitCode.hostLacks);
export const notRunning = (msg: string) => new LabError(msg, ExitCode.notRunning);
