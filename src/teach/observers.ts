// The observers of `lab graph` and `lab trace`: the only part of them that asks the
// running lab anything. Small and in one place, to move onto the shared observation
// layer (src/observe/) once it exists. One exec per device per question, in parallel.
import type { Plan } from '../plan/types.js';
import type { Provider } from '../providers/types.js';
import type { GraphObservation } from '../graph/model.js';
import { parseBgpSummary, splitJsonDocuments } from '../verify/parse/frr.js';
import { parseBirdProtocols } from '../verify/parse/bird.js';
import { safeExec } from '../verify/observe.js';

/** Port states and BGP sessions of every switch and BGP-speaking node. */
export async function observeGraph(plan: Plan, provider: Provider): Promise<GraphObservation> {
  const obs: GraphObservation = { ports: new Map(), sessions: new Map(), unobserved: new Map(), speakers: new Set() };
  const lab = plan.name;
  const links = async (device: string) => {
    const r = await safeExec(provider, lab, device, ['ip', '-j', 'link', 'show']);
    if (r.exitCode !== 0) return;
    try {
      for (const l of JSON.parse(r.stdout) as { ifname: string; operstate: string; flags?: string[] }[]) {
        obs.ports.set(`${device}/${l.ifname}`, l.operstate === 'UP' || (l.flags?.includes('LOWER_UP') && l.flags.includes('UP')) ? 'up' : 'down');
      }
    } catch { /* not observed */ }
  };
  await Promise.all([
    ...plan.switches.map(async (s) => {
      await links(s.name);
      if (!s.bgp) return;
      const r = await safeExec(provider, lab, s.name, ['vtysh', '-c', 'show bgp summary json']);
      const doc = (() => { try { return splitJsonDocuments(r.stdout)[0]; } catch { return undefined; } })();
      if (r.exitCode !== 0 || doc === undefined) {
        obs.unobserved.set(s.name, (r.stderr.trim() || r.stdout.trim() || 'no answer').split('\n')[0]);
        return;
      }
      obs.speakers.add(s.name);
      for (const p of parseBgpSummary(doc)) obs.sessions.set(`${s.name}>${p.ip}`, p.state);
    }),
    ...plan.nodes.filter((n) => n.bgp).map(async (n) => {
      const r = await safeExec(provider, lab, n.name, ['birdc', 'show', 'protocols', 'all']);
      if (r.exitCode !== 0 || !/^BIRD /m.test(r.stdout)) {
        obs.unobserved.set(n.name, (r.stderr.trim() || r.stdout.trim() || 'no answer').split('\n')[0]);
        return;
      }
      obs.speakers.add(n.name);
      for (const p of parseBirdProtocols(r.stdout)) if (p.neighborIp) obs.sessions.set(`${n.name}>${p.neighborIp}`, p.state);
    }),
  ]);
  return obs;
}
