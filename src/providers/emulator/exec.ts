// `lab exec`: a command in a device's namespace with the user's stdin, stdout and stderr
// passed straight through (the child gets the CLI's own file descriptors: bytes are never
// decoded, the last newline is kept, stdin works, a terminal stays a terminal). The result
// is the command's exit code (127 when it does not exist, 128+N when killed by signal N).
// The command dies with the CLI, even on SIGKILL (`setpriv --pdeathsig KILL`, which `ip
// netns exec` replaces itself with); signals sent to the CLI are passed on to it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { ExecResult } from '../types.js';

const FORWARD = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** `enter`: what runs `ip netns exec` (e.g. nsenter into the device's UTS namespace, which execs it). */
export function execInherit(ns: string, argv: string[], enter: string[] = []): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const [bin, ...args] = [...enter, 'ip', 'netns', 'exec', ns, 'setpriv', '--pdeathsig', 'KILL', '--', ...argv];
    const child = spawn(bin, args, { stdio: 'inherit' });
    // In a terminal the whole foreground group gets Ctrl-C and Ctrl-\ itself; anything else we pass on.
    const forward = (sig: NodeJS.Signals) => { if (!process.stdin.isTTY || (sig !== 'SIGINT' && sig !== 'SIGQUIT')) child.kill(sig); };
    for (const s of FORWARD) process.on(s, forward);
    const done = () => { for (const s of FORWARD) process.off(s, forward); };
    child.on('error', (e) => { done(); reject(e); });
    child.on('exit', (code, sig) => {
      done();
      resolve({ stdout: '', stderr: '', exitCode: code ?? 128 + (sig ? constants.signals[sig] : 0) });
    });
  });
}
