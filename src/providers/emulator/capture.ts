// tcpdump inside a device's namespace, with its output streamed line by line.
import { execa } from 'execa';
import type { CaptureOptions, ExecResult } from '../types.js';

export async function tcpdump(ns: string, iface: string, args: string[], opts: CaptureOptions = {}): Promise<ExecResult> {
  const argv = ['netns', 'exec', ns, 'tcpdump', '-l', '-n', '-i', iface];
  if (opts.packets !== undefined) argv.push('-c', String(opts.packets));
  if (opts.writeFile) argv.push('-w', opts.writeFile);
  argv.push(...args);
  const sub = execa('ip', argv, { reject: false, stdin: 'ignore', buffer: true });

  let listening = false;
  const lines = (chunks: AsyncIterable<unknown>, onLine: (l: string) => void) =>
    (async () => {
      for await (const line of chunks) onLine(String(line));
    })();
  // tcpdump says "listening on IFACE ..." on stderr once the capture is armed.
  const stderrDone = lines(sub.iterable({ from: 'stderr' }), (l) => {
    if (!listening && l.includes('listening on')) {
      listening = true;
      opts.onListening?.();
    }
  });
  const stdoutDone = opts.onLine ? lines(sub.iterable({ from: 'stdout' }), opts.onLine) : Promise.resolve();

  // SIGINT makes tcpdump flush and print its counters, like Ctrl-C.
  const stop = () => sub.kill('SIGINT');
  const timer = opts.durationMs !== undefined ? setTimeout(stop, opts.durationMs) : undefined;
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    const r = await sub;
    await Promise.all([stderrDone, stdoutDone]).catch(() => undefined);
    // Stopped on purpose (duration, abort): a normal end, not a failure.
    const stopped = r.signal === 'SIGINT' || r.isCanceled;
    return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: stopped ? 0 : r.exitCode ?? -1 };
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', stop);
  }
}
