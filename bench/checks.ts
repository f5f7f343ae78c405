// bench/checks.ts: CPU of the pure route judging on big labs (issue 9): parsing the
// kernel's `ip -j route` JSON and the route checks, as `lab verify` runs them (every
// device's table, then every intent) and as `lab up`'s convergence wait does (device by
// device, round after round: the switches' tables filling up over ROUNDS rounds, then the
// nodes once). Tables are synthesized from the plan (test/fixtures/kernel-tables.ts):
// healthy (all pass) and damaged (a mix of every failure). Floor, in the same run: the
// JSON.parse of the same texts, which no parser of them can skip. Prints the median CPU ms
// of RUNS runs per phase, the ratio to its floor, and a digest of the checks (the same
// digest before and after a change: the same checks, byte for byte).
//   npx tsx --expose-gc bench/checks.ts     (LABS=dc-256,dc-1024,dc-256-vxlan VARIANTS=healthy,damaged RUNS=3 ROUNDS=4)
import { createHash } from 'node:crypto';
import { loadLab } from '../src/lab/load.js';
import { plan as planOf } from '../src/plan/index.js';
import type { Plan, RouteIntent } from '../src/plan/types.js';
import { parseKernelRoutes } from '../src/verify/parse/kernel-routes.js';
import { routeChecks } from '../src/verify/checks/routes.js';
import { emptyObservations, type Observations } from '../src/verify/checks/observations.js';
import type { Check } from '../src/verify/types.js';
import { kernelTables, tableObservations } from '../test/fixtures/kernel-tables.js';

const LABS = (process.env.LABS ?? 'dc-256,dc-1024,dc-256-vxlan').split(',');
const RUNS = Number(process.env.RUNS ?? 3);
const ROUNDS = Number(process.env.ROUNDS ?? 4);
const VARIANTS = (process.env.VARIANTS ?? 'healthy,damaged').split(',');
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

/** CPU ms (user + system, all threads: GC included) and its result. */
function cpu<T>(f: () => T): [number, T] {
  const t0 = process.cpuUsage();
  const v = f();
  const d = process.cpuUsage(t0);
  return [(d.user + d.system) / 1000, v];
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const digest = (checks: Check[]) => createHash('sha256').update(JSON.stringify(checks)).digest('hex').slice(0, 16);

/** Every device's table parsed, then every intent judged (verify). */
function verify(plan: Plan, tables: Map<string, string>, damaged: boolean): [number, number, Check[]] {
  const [parse, obs] = cpu(() => tableObservations(plan, tables, damaged));
  const [judge, checks] = cpu(() => routeChecks(plan, obs));
  return [parse, judge, checks];
}

/**
 * The convergence wait's judging: a device's table parsed and its own intents judged, per
 * round (src/observe/converge.ts): CPU ms of the parsing, of the checks, and the checks
 * (those failing in a round before the last, then every check of the last).
 */
function converge(plan: Plan, routesOf: Map<string, RouteIntent[]>, rounds: Map<string, string>[]): [number, number, Check[]] {
  const obs: Observations = emptyObservations();
  const switches = new Set(plan.switches.map((s) => s.name));
  const judge = (d: string) => routeChecks({ ...plan, intent: { ...plan.intent, routes: routesOf.get(d) ?? [] } }, obs);
  const notYet = { ok: false as const, error: 'not read yet' };
  const out: Check[] = [];
  let parse = 0;
  let checks = 0;
  rounds.forEach((round, k) => {
    for (const [d, json] of round) {
      const [p, kernel] = cpu(() => parseKernelRoutes(json));
      if (switches.has(d)) obs.switches.set(d, { bgp: notYet, kernel: { ok: true, value: kernel } });
      else obs.nodes.set(d, { kernel: { ok: true, value: kernel } });
      const [c, judged] = cpu(() => judge(d));
      parse += p;
      checks += c;
      out.push(...(k === rounds.length - 1 ? judged : judged.filter((x) => !x.ok)));
    }
  });
  return [parse, checks, out];
}

/** The switches' tables over ROUNDS rounds (round k holds (k + 1)/ROUNDS of each table's rows, the last all of them), then the nodes' in one more. */
function filling(switchTables: Map<string, string>): Map<string, string>[] {
  return Array.from({ length: ROUNDS }, (_, k) => new Map([...switchTables].map(([d, json]) => {
    const rows = JSON.parse(json) as unknown[];
    return [d, JSON.stringify(rows.filter((_, i) => i % ROUNDS <= k))];
  })));
}

const floorOf = (texts: Iterable<string>) => cpu(() => { let n = 0; for (const t of texts) n += (JSON.parse(t) as unknown[]).length; return n; })[0];

console.log(`node ${process.version}, RUNS=${RUNS}, ROUNDS=${ROUNDS}, gc between runs: ${'gc' in globalThis}`);
console.log('lab                    intents  phase             CPU ms  floor ms  ratio  checks (failing)  digest');
for (const name of LABS) {
  const plan = planOf(await loadLab(name));
  for (const damaged of VARIANTS.map((v) => v === 'damaged')) {
    const tables = kernelTables(plan, damaged);
    const switches = new Set(plan.switches.map((s) => s.name));
    const rounds = [...filling(new Map([...tables].filter(([d]) => switches.has(d)))), new Map([...tables].filter(([d]) => !switches.has(d)))];
    const routesOf = new Map<string, RouteIntent[]>();
    for (const r of plan.intent.routes) {
      const list = routesOf.get(r.device);
      if (list) list.push(r); else routesOf.set(r.device, [r]);
    }
    const convergeTexts = rounds.flatMap((r) => [...r.values()]);
    const rows: Record<string, number[]> = { parse: [], checks: [], convergeParse: [], convergeChecks: [], floorVerify: [], floorConverge: [] };
    let checks: Check[] = [];
    let conv: Check[] = [];
    for (let i = 0; i < RUNS + 1; i++) {
      gc();
      const [parse, judge, c] = verify(plan, tables, damaged);
      const [cp, cj, cc] = converge(plan, routesOf, rounds);
      const fv = floorOf(tables.values());
      const fc = floorOf(convergeTexts);
      if (i === 0) { checks = c; conv = cc; continue; } // warm-up
      rows.parse.push(parse); rows.checks.push(judge); rows.convergeParse.push(cp); rows.convergeChecks.push(cj); rows.floorVerify.push(fv); rows.floorConverge.push(fc);
    }
    const label = `${name} ${damaged ? 'damaged' : 'healthy'}`.padEnd(22);
    const line = (phase: string, ms: number, floor: number, what: string) =>
      console.log(`${label} ${String(plan.intent.routes.length).padStart(6)}  ${phase.padEnd(16)} ${ms.toFixed(0).padStart(7)}  ${floor.toFixed(0).padStart(8)}  ${(ms / floor).toFixed(1).padStart(5)}  ${what}`);
    const fv = median(rows.floorVerify);
    line('verify parse', median(rows.parse), fv, '');
    line('verify checks', median(rows.checks), fv, `${checks.length} (${checks.filter((c) => !c.ok).length})  ${digest(checks)}`);
    line('verify total', median(rows.parse.map((p, i) => p + rows.checks[i])), fv, '');
    const fc = median(rows.floorConverge);
    line('converge parse', median(rows.convergeParse), fc, '');
    line('converge checks', median(rows.convergeChecks), fc, `${conv.length} (${conv.filter((c) => !c.ok).length})  ${digest(conv)}`);
    line('converge total', median(rows.convergeParse.map((p, i) => p + rows.convergeChecks[i])), fc, '');
  }
}
