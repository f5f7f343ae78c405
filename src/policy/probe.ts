// Observer: real TCP connections from pods (emulator-configs/probe.py run inside each
// source pod through the provider's exec). One process per source pod, at most a few
// sources at once (the host has 2 cores), every target of a source in parallel.
import path from 'node:path';
import type { Provider } from '../providers/types.js';
import { repoRoot } from '../paths.js';

export const PROBE_SCRIPT = path.join(repoRoot, 'emulator-configs', 'probe.py');
export const PROBE_TIMEOUT_S = 1;
const PARALLEL_SOURCES = 4;

export type ProbeResult = { ok: true; answer: string } | { ok: false; error: string };

/** One result per target, in order (a target may be listed several times). */
export async function probeList(provider: Provider, lab: string, pod: string, targets: string[], timeoutS = PROBE_TIMEOUT_S): Promise<ProbeResult[]> {
  if (!targets.length) return [];
  const r = await provider.exec(lab, pod, ['/usr/bin/python3', PROBE_SCRIPT, String(timeoutS), ...targets], { timeoutMs: (timeoutS * Math.ceil(targets.length / 64) + 5) * 1000 });
  const out: ProbeResult[] = [];
  for (const line of r.stdout.split('\n')) {
    try {
      const j = JSON.parse(line) as { target: string; ok: boolean; answer?: string; error?: string };
      out.push(j.ok ? { ok: true, answer: j.answer ?? '' } : { ok: false, error: j.error ?? 'failed' });
    } catch {
      // not a result line
    }
  }
  const why = (r.stderr.trim() || `exit code ${r.exitCode}`).split('\n').slice(-1)[0];
  while (out.length < targets.length) out.push({ ok: false, error: `could not probe: ${why}` });
  return out;
}

export async function probeFrom(provider: Provider, lab: string, pod: string, targets: string[], timeoutS = PROBE_TIMEOUT_S): Promise<Map<string, ProbeResult>> {
  const list = await probeList(provider, lab, pod, targets, timeoutS);
  return new Map(targets.map((t, i) => [t, list[i]]));
}

/** Probe many sources with bounded concurrency. */
export async function probeMany(provider: Provider, lab: string, jobs: { from: string; targets: string[] }[], timeoutS = PROBE_TIMEOUT_S): Promise<Map<string, Map<string, ProbeResult>>> {
  const results = new Map<string, Map<string, ProbeResult>>();
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      results.set(job.from, await probeFrom(provider, lab, job.from, job.targets, timeoutS));
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SOURCES, jobs.length) }, worker));
  return results;
}

/** "could not probe" is not an observation of the policy: the matrix shows it as unknown. */
export const unobserved = (r: ProbeResult | undefined) => !r || (!r.ok && r.error.startsWith('could not probe'));
