// The instructor's view: one bounded observation loop shared by every client. Each round
// observes every running copy's ports and BGP sessions (teach's graph observers) with a
// small pool; verify runs less often (it pings and captures). Clients get the snapshot.
import { listRunning, type RunningLab } from '../providers/registry.js';
import { getProvider } from '../providers/index.js';
import { loadPlan } from '../cli/load.js';
import type { Plan } from '../plan/types.js';
import { bindInstance, runKey } from '../workshop/instance.js';
import { allExerciseStates } from '../workshop/exercise-run.js';
import { exerciseNames } from '../workshop/exercise.js';
import { graphModel, type GraphModel } from '../graph/model.js';
import { pool } from '../cli/commands/lifecycle.js';

export interface CopyView {
  key: string;
  lab: string;
  instance: string | null;
  startedAt: string;
  graph: GraphModel | null;
  sessions: { up: number; total: number };
  faults: { kind: string; target: string; detail: string }[];
  verify: { at: string; ok: boolean; byKind: Record<string, { passed: number; failed: number; unknown: number }> } | null;
  error: string | null;
}

export interface Snapshot {
  at: string;
  round: number;
  copies: CopyView[];
  exercises: string[];
  /** students x exercises: the student is a copy key; cells pass / fail / started. */
  grid: { student: string; lab: string; instance: string | null; cells: Record<string, 'pass' | 'fail' | 'started'> }[];
}

export interface LoopOptions { intervalMs: number; verifyEveryMs: number; parallel: number }

export class Observer {
  snapshot: Snapshot = { at: new Date().toISOString(), round: 0, copies: [], exercises: [], grid: [] };
  private plans = new Map<string, Plan>();
  private verifies = new Map<string, { at: number; view: NonNullable<CopyView['verify']> }>();
  private listeners = new Set<(s: Snapshot) => void>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private o: LoopOptions) {}

  subscribe(fn: (s: Snapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  start(): void { void this.loop(); }

  stop(): void { this.stopped = true; clearTimeout(this.timer); }

  /** Rounds never overlap: the next one is scheduled when this one ends. */
  private async loop(): Promise<void> {
    if (this.stopped) return;
    try {
      this.snapshot = await this.round();
      for (const l of this.listeners) l(this.snapshot);
    } catch {
      // one bad round must not end the view; the next one retries
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.loop(), this.o.intervalMs);
  }

  private async planOf(r: RunningLab): Promise<Plan> {
    const k = `${r.labFile}@${r.startedAt}`;
    let p = this.plans.get(k);
    if (!p) { p = await loadPlan(r.labFile); this.plans.set(k, p); }
    return p;
  }

  private async round(): Promise<Snapshot> {
    const running = (await listRunning()).filter((r) => r.provider === 'emulator');
    const { observeGraph } = await import('../teach/observers.js');
    const { readFaults } = await import('../fault/store.js');
    const { listJson } = await import('../fault/model.js');
    const { verify } = await import('../verify/index.js');
    const provider = await getProvider('emulator');
    const copies = await pool(running, this.o.parallel, async (r): Promise<CopyView> => {
      const key = runKey(r.lab, r.instance);
      const base = { key, lab: r.lab, instance: r.instance ?? null, startedAt: r.startedAt };
      try {
        const plan = await this.planOf(r);
        const bound = bindInstance(provider, r.instance);
        const faults = await readFaults(key);
        const graph = graphModel(plan, await observeGraph(plan, bound), faults);
        const bgp = graph.edges.filter((e) => e.sessions.length);
        const last = this.verifies.get(key);
        if (!last || Date.now() - last.at > this.o.verifyEveryMs) {
          const rep = await verify(plan, bound);
          const byKind: Record<string, { passed: number; failed: number; unknown: number }> = {};
          for (const c of rep.checks) {
            const k = (byKind[c.kind] ??= { passed: 0, failed: 0, unknown: 0 });
            const status = (c as { status?: string }).status ?? (c.ok ? 'pass' : 'fail');
            if (status === 'pass') k.passed++; else if (status === 'unknown') k.unknown++; else k.failed++;
          }
          this.verifies.set(key, { at: Date.now(), view: { at: new Date().toISOString(), ok: rep.ok, byKind } });
        }
        return { ...base, graph, sessions: { up: bgp.filter((e) => e.state === 'up').length, total: bgp.length }, faults: listJson(faults), verify: this.verifies.get(key)!.view, error: null };
      } catch (e) {
        return { ...base, graph: null, sessions: { up: 0, total: 0 }, faults: [], verify: null, error: e instanceof Error ? e.message : String(e) };
      }
    });
    const live = new Set(copies.map((c) => c.key));
    for (const k of this.verifies.keys()) if (!live.has(k)) this.verifies.delete(k);
    const exercises = await exerciseNames();
    const grid = new Map<string, Snapshot['grid'][number]>();
    for (const s of await allExerciseStates()) {
      const key = runKey(s.lab, s.instance);
      const row = grid.get(key) ?? { student: s.instance ?? s.lab, lab: s.lab, instance: s.instance ?? null, cells: {} };
      row.cells[s.exercise] = s.last ? (s.last.solved ? 'pass' : 'fail') : 'started';
      grid.set(key, row);
    }
    return { at: new Date().toISOString(), round: this.snapshot.round + 1, copies, exercises, grid: [...grid.values()].sort((a, b) => a.student.localeCompare(b.student, undefined, { numeric: true })) };
  }

  /** Verify this copy at the next round (after an action changed it). */
  invalidate(key: string): void { this.verifies.delete(key); }
}
