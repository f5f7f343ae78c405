// Pods and packet capture on libvirt VMs. Real Kubernetes names its pods itself, so a
// plan pod (nginx-<hash>-<hash>) is matched to the real one by workload, node and order;
// an exact IP match wins. Capture runs tcpdump over SSH and stops it gracefully.
import { createWriteStream } from 'node:fs';
import type { CaptureOptions, ExecResult } from '../types.js';
import { sshRun, shellJoin, type SshTarget } from './ssh.js';
import { LabError, ExitCode } from '../../errors.js';
import type { PodInfo } from './state.js';

export const KUBECONFIG = '/etc/kubernetes/admin.conf';
export const kubectlArgv = (args: string[]) => ['kubectl', '--kubeconfig', KUBECONFIG, ...args];

export interface RealPod { name: string; phase: string; ready: boolean; ip?: string; node?: string }

interface KubePodList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status: { phase?: string; podIP?: string; containerStatuses?: { ready: boolean }[] };
  }[];
}

/** The real pod standing for a plan pod (pure: given `kubectl get pods -o json`). */
export function matchPod(pod: PodInfo, planPods: PodInfo[], list: KubePodList): RealPod | undefined {
  const toReal = (it: KubePodList['items'][number]): RealPod => ({
    name: it.metadata.name,
    phase: it.status.phase ?? 'Unknown',
    ready: it.status.phase === 'Running' && (it.status.containerStatuses ?? []).every((c) => c.ready),
    ip: it.status.podIP,
    node: it.spec.nodeName,
  });
  const byIp = list.items.find((it) => it.status.podIP === pod.ip);
  if (byIp) return toReal(byIp);
  const candidates = list.items
    .filter((it) => it.metadata.name.startsWith(`${pod.workload}-`) && it.spec.nodeName === pod.node)
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const siblings = planPods.filter((p) => p.workload === pod.workload && p.namespace === pod.namespace && p.node === pod.node);
  const k = siblings.findIndex((p) => p.name === pod.name);
  const it = candidates[k];
  return it ? toReal(it) : undefined;
}

export async function resolvePod(
  pod: PodInfo, planPods: PodInfo[], runOnControlPlane: (argv: string[]) => Promise<ExecResult>,
): Promise<RealPod> {
  const r = await runOnControlPlane(kubectlArgv(['get', 'pods', '-n', pod.namespace, '-o', 'json']));
  if (r.exitCode !== 0) throw new LabError(`kubectl get pods -n ${pod.namespace} failed: ${r.stderr.trim()}`, ExitCode.notRunning);
  const real = matchPod(pod, planPods, JSON.parse(r.stdout) as KubePodList);
  if (!real) throw new LabError(`no running pod of ${pod.workload} on ${pod.node} stands for ${pod.name} yet`, ExitCode.notRunning);
  return real;
}

// tcpdump in the background; when our side closes stdin (stop, duration, Ctrl-C or a lost
// connection), it gets SIGINT and prints its summary. OpenSSH ignores channel signals.
const CAPTURE_SCRIPT = [
  'exec 3<&0',
  '"$@" </dev/null & p=$!',
  '{ read -r _ <&3; kill -INT "$p"; } >/dev/null 2>&1 & w=$!',
  'wait "$p"; s=$?',
  'kill "$w" 2>/dev/null',
  'exit "$s"',
].join('\n');

export function captureArgv(iface: string, tcpdumpArgs: string[], o: Pick<CaptureOptions, 'packets' | 'writeFile' | 'pcapFd'>): string[] {
  const tcpdump = ['tcpdump', '-i', iface, '-n', ...(o.writeFile || o.pcapFd !== undefined ? ['-U', '-w', '-'] : ['-l']),
    ...(o.packets ? ['-c', String(o.packets)] : []), ...tcpdumpArgs];
  return ['sudo', '-n', '--', 'sh', '-c', CAPTURE_SCRIPT, 'sh', ...tcpdump];
}

export async function captureOnVm(t: SshTarget, iface: string, tcpdumpArgs: string[], o: CaptureOptions): Promise<ExecResult> {
  const stop = new AbortController();
  const timer = o.durationMs !== undefined ? setTimeout(() => stop.abort(), o.durationMs) : undefined;
  const onAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  if (o.signal?.aborted) stop.abort();
  const file = o.pcapFd !== undefined ? createWriteStream('', { fd: o.pcapFd, autoClose: false }) : o.writeFile ? createWriteStream(o.writeFile) : undefined;
  let listening = false;
  let errText = '';
  let pending = '';
  try {
    const r = await sshRun(t, shellJoin(captureArgv(iface, tcpdumpArgs, o)), {
      closeStdinOn: stop.signal,
      collectStdout: !file,
      onStdout: (chunk) => {
        if (file) { file.write(chunk); return; }
        if (!o.onLine) return;
        const parts = (pending + chunk.toString()).split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) o.onLine(line);
      },
      onStderr: (chunk) => {
        errText += chunk.toString();
        if (!listening && /listening on/.test(errText)) { listening = true; o.onListening?.(); }
      },
    });
    if (pending && o.onLine) o.onLine(pending);
    return r;
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
    if (file) await new Promise<void>((resolve) => file.end(resolve));
  }
}
