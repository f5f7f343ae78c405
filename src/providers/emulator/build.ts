// The order in which a lab is built, each step batched and bounded by the host's cores:
// namespaces (one `ip -batch`), cables (one `ip -batch`: veth ends created straight in
// their namespaces), sysctls (one process for all namespaces), then switch and node
// addresses (one `ip -batch` per namespace, NS_WORKERS namespaces at once, from the pooled
// exec helpers), the routing daemons (BIRDs and zebras, then bgpds), and last, while
// convergence is awaited, the pods and the nodes' netfilter (the same helpers) and the
// pod responders.
import type { Plan } from '../../plan/types.js';
import type { Progress } from '../types.js';
import { startBird, startFrr } from './daemons.js';
import { startResponders } from './responder.js';
import { cloneNftTable, ipBatch, RESTORE_WORKERS, runNsJobs, settleAll, sysctls, type NsJob } from './run.js';
import type { StateStore } from './state.js';
import type { Topology } from './topology.js';
import { filterTable, nodeIptables } from '../../policy/node-rules.js';

export async function buildLab(
  plan: Plan, topo: Topology, frr: { name: string; conf: string }[], store: StateStore, progress: Progress, signal?: AbortSignal,
): Promise<{ dataplane: Promise<void> }> {
  let end = progress.phase('namespaces');
  await ipBatch(undefined, topo.netns);
  end(`${topo.namespaces.length} network namespaces`);
  signal?.throwIfAborted();

  end = progress.phase('links');
  await ipBatch(undefined, topo.cables);
  // Before any port is up: where the lab turns IPv6 off, no link-local address appears.
  await sysctls(topo.configs.map((c) => ({ ns: c.ns, settings: c.sysctls })));
  end(`${plan.links.length} veth pairs`);
  signal?.throwIfAborted();

  // Switches and nodes whole (a node's Calico dataplane is in the same batch as its
  // uplink): what the daemons need before they start.
  const infra = topo.configs.filter((c) => c.kind !== 'pod');
  end = progress.phase('addresses');
  await runNsJobs(infra.map((c) => ({ ns: c.ns, ip: [...c.links, ...c.dataplane], bridge: c.fdb })), signal);
  end(`${infra.length} switches and nodes`);
  signal?.throwIfAborted();

  const birds = plan.nodes.filter((n) => n.bgp).length;
  if (frr.length || birds) {
    end = progress.phase('daemons');
    // Every BIRD (and zebra) serving before any bgpd: the sessions then come up together
    // and each switch learns the nodes' routes in a few large updates. A bgpd started
    // while BIRDs are still starting re-advertises after every one of them: at 1,024 nodes
    // the switches' daemons burned ~60 CPU s over ~45 s that way (~27 s with BIRDs first).
    await settleAll([startFrr(store, plan, frr, 'zebra', signal), startBird(store, plan, signal)]);
    await startFrr(store, plan, frr, 'bgpd', signal);
    end([frr.length && `FRR on ${frr.length} switches`, birds && `BIRD on ${birds} nodes`].filter(Boolean).join(', '));
    signal?.throwIfAborted();
  }

  // The pods and the nodes' netfilter matter to no BGP session or route: they are built
  // while `up` waits for convergence (the caller awaits the promise).
  const dataplane = (async () => {
    const end = progress.phase('dataplane');
    // Felix's and kube-proxy's chains, no NetworkPolicy yet (`lab policy apply` adds them).
    const needsRules = plan.pods.length > 0 && plan.networking !== 'none';
    // FABRIC_LAB_TRACE=1: how long each part took, to see where the seconds go.
    const t0 = Date.now();
    const trace = (what: string) => { if (process.env.FABRIC_LAB_TRACE) progress.info(`  dataplane: ${what} after ${Date.now() - t0} ms`); };
    const pods = topo.configs.filter((c) => c.kind === 'pod').map((c) => ({ ns: c.ns, ip: c.dataplane }));
    await (needsRules ? loadNodeRules(plan, topo.configs.filter((c) => c.kind === 'node'), pods, signal) : runNsJobs(pods, signal));
    trace('pods and netfilter');
    signal?.throwIfAborted();
    const served = plan.pods.length || plan.outside ? await startResponders(store, plan, signal) : 0;
    trace('responders');
    end([`${plan.pods.length} pods`, needsRules && `netfilter of ${plan.nodes.length} nodes`, served && `${served} pods answer on their ports`,
      plan.outside && `${plan.outside.name} ${plan.outside.addr.ip}:${plan.outside.port}`, 'during convergence'].filter(Boolean).join(', '));
  })();
  return { dataplane };
}

/**
 * The nodes' netfilter (with `others`, the pods' batches, in the same shells): the first
 * node's filter and nat tables by iptables-restore, every other node's filter table by
 * iptables-restore and its nat table, the same on every node, copied from the first
 * node's. Same tables as an iptables-restore of nodeIptables() on each node.
 */
export async function loadNodeRules(plan: Plan, nodes: { ns: string; device: string }[], others: NsJob[], signal?: AbortSignal): Promise<void> {
  if (!nodes.length) return runNsJobs(others, signal);
  const [first, ...rest] = nodes;
  await runNsJobs([{ ns: first.ns, iptables: nodeIptables(plan, first.device, []) }], signal);
  await settleAll([
    runNsJobs(others, signal),
    runNsJobs(rest.map((n) => ({ ns: n.ns, iptables: filterTable(plan, n.device, []) })), signal, RESTORE_WORKERS),
    cloneNftTable(first.ns, 'nat', rest.map((n) => n.ns), signal),
  ]);
}
