// Every default of the lab file, in one place (documented in labs/README.md). Applied
// only to a file that passed validation, so the raw shape can be trusted here.
import path from 'node:path';
import type { Lab, SwitchOs, CalicoSettings, BridgeSettings, LibvirtSettings, KubeNode, Kubernetes, Workload, Cni, NamespaceSpec, Outside } from './types.js';
import { expandNodesPerLeaf } from './expand.js';

export const DEFAULTS = {
  description: '',
  fabricOs: 'cumulus' as SwitchOs,
  nodeRole: 'worker' as const,
  calico: { blockSize: 26, vxlanVNI: 4096, vxlanPort: 4789, natOutgoing: true, asNumber: 64512, peering: 'as-per-rack', routesToNodes: 'all' } satisfies Omit<CalicoSettings, 'mode'>,
  bridge: { bridge: 'cni0', nodeCidrBits: 24, masquerade: true } satisfies BridgeSettings,
  workload: { namespace: 'default', replicas: 1 },
  workloadPorts: [{ name: 'http', port: 80 }],
  serviceType: 'ClusterIP' as const,
  /** RFC 5737 TEST-NET-3: never a real network. */
  outside: { name: 'outside', subnet: '203.0.113.0/24', port: 80 },
  libvirt: {
    driver: 'kvm', nodeBox: 'generic/ubuntu2204', switchMemory: 768, switchCpus: 1,
    nodeMemory: 2048, nodeCpus: 2, calicoVersion: '3.28.2',
  } satisfies Omit<LibvirtSettings, 'switchBox'>,
  switchBox: { cumulus: 'CumulusCommunity/cumulus-vx', frr: 'debian/bookworm64' } satisfies Record<SwitchOs, string>,
};

/** The shape validation guarantees; optional where the file may leave a key out. */
interface RawLab {
  name: string;
  description?: string;
  fabric?: Omit<NonNullable<Lab['fabric']>, 'os'> & { os?: SwitchOs };
  lan?: Lab['lan'];
  kubernetes?: Omit<NonNullable<Lab['kubernetes']>, 'nodes'> & { nodes?: (Omit<KubeNode, 'role'> & { role?: KubeNode['role'] })[]; nodesPerLeaf?: unknown };
  cni?: { plugin: 'calico' | 'bridge'; calico?: Partial<CalicoSettings> & Pick<CalicoSettings, 'mode'>; bridge?: Partial<BridgeSettings> };
  workloads?: (Pick<Workload, 'name'> & Partial<Omit<Workload, 'service'>> & { service?: Partial<Workload['service']> })[];
  namespaces?: (Pick<NamespaceSpec, 'name'> & Partial<NamespaceSpec>)[];
  outside?: Partial<Outside>;
  libvirt?: Partial<LibvirtSettings>;
}

function kubernetes(k: NonNullable<RawLab['kubernetes']>, leaves: string[]): Kubernetes {
  const { nodesPerLeaf, nodes = [], ...rest } = k;
  return {
    ...rest,
    nodes: [...nodes.map((n) => ({ ...n, role: n.role ?? DEFAULTS.nodeRole })), ...expandNodesPerLeaf(nodesPerLeaf, leaves)],
  };
}

export function applyDefaults(raw: unknown, file: string): Lab {
  const r = raw as RawLab;
  const os = r.fabric?.os ?? DEFAULTS.fabricOs;
  // The LAN switch is plain FRR/Linux (plan/fabric.ts), whatever fabric.os would say.
  const switchOs: SwitchOs = r.fabric ? os : 'frr';
  const cni: Cni | undefined = !r.cni ? undefined
    : r.cni.plugin === 'bridge' ? { plugin: 'bridge', bridge: { ...DEFAULTS.bridge, ...r.cni.bridge } }
    : { plugin: 'calico', calico: { ...DEFAULTS.calico, ...r.cni.calico! } };
  const libvirt: LibvirtSettings = { ...DEFAULTS.libvirt, switchBox: DEFAULTS.switchBox[switchOs], ...r.libvirt };
  // Boot files are relative to the lab file, so a lab folder can carry its own kernel.
  for (const key of ['kernel', 'initrd'] as const) {
    const p = libvirt[key];
    if (p) libvirt[key] = path.resolve(path.dirname(file), p);
  }
  return {
    name: r.name,
    description: r.description ?? DEFAULTS.description,
    file,
    ...(r.fabric ? { fabric: { ...r.fabric, os } } : {}),
    ...(r.lan ? { lan: r.lan } : {}),
    ...(r.kubernetes ? { kubernetes: kubernetes(r.kubernetes, r.fabric?.leaves.map((l) => l.name) ?? []) } : {}),
    ...(cni ? { cni } : {}),
    workloads: (r.workloads ?? []).map((w) => ({
      ...DEFAULTS.workload, ...w,
      labels: w.labels ?? {},
      ports: (w.ports ?? DEFAULTS.workloadPorts).map((p) => ({ ...p })),
      service: { type: DEFAULTS.serviceType, ...w.service },
    })),
    namespaces: (r.namespaces ?? []).map((n) => ({ name: n.name, labels: n.labels ?? {} })),
    ...(r.outside ? { outside: outsideDefaults(r) } : {}),
    libvirt,
  };
}

/** The outside host hangs off the last leaf (a border leaf by convention) or the LAN switch. */
function outsideDefaults(r: RawLab): Outside {
  const via = r.outside!.via ?? (r.fabric ? r.fabric.leaves[r.fabric.leaves.length - 1].name : 'lan');
  return { ...DEFAULTS.outside, ...r.outside, via };
}
