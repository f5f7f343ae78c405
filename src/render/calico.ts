// plan -> calico/*.yaml (projectcalico.org/v3), for Calico labs only. The objects are
// built as typed data in k8s/calico-objects.ts and serialised with `yaml` (see
// k8s/serialize.ts for why these are not handlebars templates).
import type { Plan } from '../plan/types.js';
import type { Artifact } from './types.js';
import { bgpConfiguration, bgpPeers, calicoNode, felixConfiguration, ipPool } from './k8s/calico-objects.js';
import type { CalicoDocument } from './k8s/calico-objects.js';
import { generatedHeader, toYamlStream } from './k8s/serialize.js';

const ENCAP = { vxlan: 'VXLAN', bgp: 'no encapsulation', ipip: 'IPIP' } as const;

/** What each file is for, in the mode at hand: the header comment of the file. */
function describe(file: string, plan: Plan, mode: keyof typeof ENCAP): string {
  switch (file) {
    case 'ippool.yaml': return `IP pool: pod addresses from ${plan.cluster?.podSubnet} in per-node blocks, ${ENCAP[mode]}.`;
    case 'felixconfiguration.yaml': return `Felix (the per-node dataplane agent): ${ENCAP[mode]}.`;
    case 'bgpconfiguration.yaml': return {
      vxlan: 'BGP defaults. VXLAN mode runs calico_backend vxlan, so BIRD does not run at all;\nthe mesh is still switched off explicitly so nodes never speak BGP to the fabric.',
      bgp: 'BGP defaults: no node-to-node mesh; every node peers with its leaf (bgppeers.yaml).',
      ipip: 'BGP defaults: full node-to-node mesh in the cluster AS carries the pod blocks.',
    }[mode];
    case 'bgppeers.yaml': return `One BGP peer per rack: nodes labelled rack=<leaf> peer with their rack gateway (${plan.peering}).`;
    default: return 'Calico Node patches: each node\'s address (BGP and tunnel endpoint), rack label and AS.\n`apply` replaces a Node\'s whole spec: apply before calico-node first starts, later merge\nwith `calicoctl patch node NAME --patch` instead.';
  }
}

/** The Calico documents of a plan, by file (relative to calico/). Empty for non-Calico labs. */
export function calicoDocuments(plan: Plan): Map<string, CalicoDocument[]> {
  const files = new Map<string, CalicoDocument[]>();
  const mode = plan.networking;
  if (mode !== 'vxlan' && mode !== 'bgp' && mode !== 'ipip') return files;
  const cluster = plan.cluster;
  if (!cluster) throw new Error(`Calico lab ${plan.name} has no cluster in its plan`);
  files.set('ippool.yaml', [ipPool(cluster, mode)]);
  files.set('felixconfiguration.yaml', [felixConfiguration(plan, cluster, mode)]);
  files.set('bgpconfiguration.yaml', [bgpConfiguration(cluster, mode)]);
  if (mode === 'bgp') files.set('bgppeers.yaml', bgpPeers(plan));
  files.set('nodes.yaml', plan.nodes.map((n) => calicoNode(n, mode)));
  return files;
}

export function renderCalico(plan: Plan): Artifact[] {
  const mode = plan.networking as keyof typeof ENCAP;
  return [...calicoDocuments(plan)].map(([file, docs]) => {
    const apply = file === 'nodes.yaml' ? '' : `\nApply with: calicoctl apply -f ${file}`;
    const what = `${describe(file, plan, mode)}${apply}`;
    return { path: `calico/${file}`, content: toYamlStream(docs.map((obj) => ({ obj })), generatedHeader(plan.name, what)) };
  });
}
