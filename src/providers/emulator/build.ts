// The order in which a lab is built. The critical path is cables -> switch ports ->
// zebra -> bgpd -> sessions; the rest (sysctls, the Calico/bridge dataplane of nodes and
// pods, iptables) is built while bgpd waits to open its first sessions.
import type { Plan } from '../../plan/types.js';
import type { Progress } from '../types.js';
import { startBird, startFrr } from './daemons.js';
import { startResponders } from './responder.js';
import { bridgeBatch, createUtsNamespaces, ipBatch, iptablesRestore, settleAll, sysctl } from './run.js';
import type { StateStore } from './state.js';
import type { Topology } from './topology.js';
import { nodeIptables } from '../../policy/node-rules.js';

export async function buildLab(
  plan: Plan, topo: Topology, frr: { name: string; conf: string }[], store: StateStore, progress: Progress, signal?: AbortSignal,
): Promise<void> {
  let end = progress.phase('links');
  await ipBatch(undefined, topo.create);
  await settleAll(topo.configs.map((c) => ipBatch(c.ns, c.links)));
  end(`${topo.namespaces.length} namespaces, ${plan.links.length} links`);
  signal?.throwIfAborted();

  // Daemons first: FRR gets the CPU while it starts, and the dataplane is built during
  // bgpd's first second (its idle start timer), before any session can come up.
  const birds = plan.nodes.filter((n) => n.bgp).length;
  if (frr.length || birds) {
    end = progress.phase('daemons');
    await settleAll([startFrr(store, plan, frr, signal), startBird(store, plan, signal)]);
    end([frr.length && `FRR on ${frr.length} switches`, birds && `BIRD on ${birds} nodes`].filter(Boolean).join(', '));
    signal?.throwIfAborted();
  }

  end = progress.phase('dataplane');
  // Felix's and kube-proxy's chains, no NetworkPolicy yet (`lab policy apply` adds them).
  const needsRules = plan.pods.length > 0 && plan.networking !== 'none';
  // Each device's hostname (its own UTS namespace) for the shells `lab exec`/`lab shell` open.
  const uts = store.state.devices.flatMap((d) => (d.uts ? [{ file: d.uts, hostname: d.name }] : []));
  await settleAll([createUtsNamespaces(uts), ...topo.configs.map(async (c) => {
    await sysctl(c.ns, c.sysctls);
    await ipBatch(c.ns, c.dataplane);
    await bridgeBatch(c.ns, c.fdb);
    if (needsRules && c.kind === 'node') await iptablesRestore(c.ns, nodeIptables(plan, c.device, []));
  })]);
  end(`${plan.networking}, ${plan.pods.length} pods`);
  signal?.throwIfAborted();

  if (plan.pods.length) {
    end = progress.phase('responders');
    const served = await startResponders(store, plan, signal);
    end(`${served} pods answer on their ports`);
    signal?.throwIfAborted();
  }
}
