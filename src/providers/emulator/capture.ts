// tcpdump inside a device's namespace. Text output is streamed line by line (or passed
// straight to a file descriptor as pcap). tcpdump dies with the CLI, even on SIGKILL: it
// runs under `setpriv --pdeathsig TERM` and keeps root (`-Z root`), because a change of
// user would clear the parent-death signal; it writes no file itself (pcap goes to the fd
// it is given), and the arguments reaching it are filtered (src/providers/capture-args.ts).
import { execa } from 'execa';
import { badInput } from '../../errors.js';
import type { CaptureOptions, ExecResult } from '../types.js';

/** Interface names of a namespace (`swp1`, `eth0`, `vxlan.calico`...). */
export async function interfacesOf(ns: string): Promise<string[]> {
  const r = await execa('ip', ['-n', ns, '-o', 'link', 'show'], { reject: false });
  return r.stdout.split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1]).filter((x): x is string => !!x);
}

export async function tcpdump(ns: string, device: string, iface: string, args: string[], opts: CaptureOptions = {}): Promise<ExecResult> {
  const pcap = opts.pcapFd !== undefined;
  const argv = ['netns', 'exec', ns, 'setpriv', '--pdeathsig', 'TERM', '--', 'tcpdump', '-Z', 'root', '-n', '-i', iface];
  argv.push(...(pcap ? ['-U', '-w', '-'] : ['-l']));
  if (opts.packets !== undefined) argv.push('-c', String(opts.packets));
  if (opts.writeFile && !pcap) argv.push('-w', opts.writeFile);
  argv.push(...args);
  // pcap goes straight to the given fd (bytes never pass through this process).
  const sub = execa('ip', argv, {
    reject: false, stdin: 'ignore', buffer: { stdout: !pcap, stderr: true }, stdout: pcap ? (opts.pcapFd as 3) : 'pipe',
  });

  let listening = false;
  const early: string[] = []; // what tcpdump says before it listens: an error we may explain better
  const lines = (chunks: AsyncIterable<unknown>, onLine: (l: string) => void) =>
    (async () => {
      for await (const line of chunks) onLine(String(line));
    })();
  // tcpdump says "listening on IFACE ..." on stderr once the capture is armed.
  const stderrDone = lines(sub.iterable({ from: 'stderr' }), (l) => {
    if (!listening && l.includes('listening on')) {
      listening = true;
      opts.onListening?.();
      return;
    }
    if (listening) opts.onStderrLine?.(l);
    else early.push(l);
  });
  const stdoutDone = opts.onLine && !pcap ? lines(sub.iterable({ from: 'stdout' }), opts.onLine) : Promise.resolve();

  // SIGINT makes tcpdump flush and print its counters, like Ctrl-C.
  const stop = () => sub.kill('SIGINT');
  const timer = opts.durationMs !== undefined ? setTimeout(stop, opts.durationMs) : undefined;
  opts.signal?.addEventListener('abort', stop, { once: true });
  if (opts.signal?.aborted) stop();
  try {
    const r = await sub;
    await Promise.all([stderrDone, stdoutDone]).catch(() => undefined);
    // Stopped on purpose (duration, abort): a normal end, not a failure.
    const stopped = r.signal === 'SIGINT' || r.isCanceled;
    // A wrong interface name is bad input: say which interfaces the device has (asked only now, it costs an exec).
    if (!listening && !stopped && r.exitCode && /No such device|doesn't exist|no such interface/i.test(String(r.stderr))) {
      const ifaces = await interfacesOf(ns);
      if (!ifaces.includes(iface)) throw badInput(`${device} has no interface "${iface}"; its interfaces: ${ifaces.join(', ')} (or "any")`);
    }
    for (const l of early) opts.onStderrLine?.(l);
    return { stdout: pcap ? '' : String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: stopped ? 0 : r.exitCode ?? -1 };
  } finally {
    if (timer) clearTimeout(timer);
    opts.signal?.removeEventListener('abort', stop);
  }
}
