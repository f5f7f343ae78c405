// Semantic rules that a schema cannot express: which sections go together, names and
// references, ASNs (addresses and capacity are in networks.ts). Each rule reports at
// the field to change, and says what would be accepted.
import { formatPath, type Issue } from './positions.js';
import { closest } from './shape-errors.js';
import { int, obj, str, type Entry, type LabView } from './raw.js';
import { DEFAULTS } from './defaults.js';
import { checkNetworks } from './networks.js';
import { checkWorkloads } from './workload-checks.js';
import { NODE_PLACEHOLDERS, patternProblems } from './expand.js';
import { DEVICE_NAME } from './schema.js';

/** The LAN underlay's switch is a device called `lan` (plan/fabric.ts LAN_SWITCH). */
export const LAN_SWITCH_NAME = 'lan';
/** as-per-node BGP: node i gets AS 4200000000 + i + 1 (plan/cluster.ts NODE_ASN_BASE). */
export const NODE_ASN_BASE = 4_200_000_000;

export function checkLab(v: LabView, fileBase: string): Issue[] {
  return [
    ...checkSections(v),
    ...checkNames(v, fileBase),
    ...checkNodesPerLeaf(v),
    ...checkNodes(v),
    ...checkTimers(v),
    ...checkAsns(v),
    ...checkLibvirt(v),
    ...checkNetworks(v),
    ...checkWorkloads(v),
  ];
}

const has = (v: LabView, key: string) => Object.hasOwn(v.root, key);

function checkSections(v: LabView): Issue[] {
  const out: Issue[] = [];
  if (!has(v, 'fabric') && !has(v, 'lan')) {
    out.push({ path: [], message: 'needs an underlay: a "fabric:" section (leaf-spine) or a "lan:" section (flat LAN)' });
  }
  if (has(v, 'fabric') && has(v, 'lan')) {
    out.push({ path: ['lan'], at: 'key', message: '"fabric" and "lan" exclude each other: keep one underlay' });
  }
  if (has(v, 'kubernetes') && !has(v, 'cni')) {
    out.push({ path: ['kubernetes'], at: 'key', message: 'needs a "cni:" section (plugin calico or bridge) to network the pods; leave out both kubernetes and cni for a fabric-only lab' });
  }
  if (has(v, 'cni') && !has(v, 'kubernetes')) {
    out.push({ path: ['cni'], at: 'key', message: 'needs a "kubernetes:" section to network; leave out both kubernetes and cni for a fabric-only lab' });
  }
  if (Array.isArray(v.root.workloads) && v.root.workloads.length > 0 && !has(v, 'kubernetes')) {
    out.push({ path: ['workloads'], at: 'key', message: 'workloads need a "kubernetes:" section to run on' });
  }
  const cni = v.cni;
  if (cni && v.plugin === 'calico' && !Object.hasOwn(cni, 'calico')) {
    out.push({ path: ['cni', 'plugin'], message: 'plugin calico needs a "calico:" section with at least mode (vxlan, bgp or ipip)' });
  }
  for (const [plugin, other] of [['calico', 'bridge'], ['bridge', 'calico']] as const) {
    if (cni && v.plugin === plugin && Object.hasOwn(cni, other)) {
      out.push({ path: ['cni', other], at: 'key', message: `"${other}:" settings are for plugin ${other}; this lab uses plugin ${plugin}: remove them` });
    }
  }
  if (v.calico && Object.hasOwn(v.calico, 'routesToNodes') && v.mode !== undefined && v.mode !== 'bgp') {
    out.push({ path: ['cni', 'calico', 'routesToNodes'], at: 'key', message: `only for mode bgp (the leaves' BGP sessions with the nodes); mode ${v.mode} has none: remove it` });
  }
  if (v.plugin === 'calico' && v.mode === 'bgp' && !v.fabric) {
    out.push({ path: ['cni', 'calico', 'mode'], message: 'mode bgp peers every node with its leaf and needs a "fabric:" underlay; on a lan use vxlan or ipip' });
  }
  if (v.plugin === 'bridge' && v.fabric) {
    const leaves = [...new Set(v.nodes.map((n) => str(n.v.leaf)).filter(Boolean))];
    if (leaves.length > 1) {
      out.push({
        path: ['cni', 'plugin'],
        message: `plugin bridge routes pods by static routes via the other nodes, which must share one L2 segment; these nodes sit on ${leaves.join(', ')}: put them on one leaf, use a lan, or use calico`,
      });
    }
  }
  const ifname = str(v.bridge?.bridge);
  if (ifname === 'eth0' || ifname === 'lo') {
    out.push({ path: ['cni', 'bridge', 'bridge'], message: `"${ifname}" is taken on every node (eth0 is the uplink, lo the loopback): use another name, like cni0` });
  }
  return out;
}

function checkNames(v: LabView, fileBase: string): Issue[] {
  const out: Issue[] = [];
  const name = str(v.root.name);
  if (name !== undefined && name !== fileBase) {
    out.push({ path: ['name'], message: `must match the file name: "${name}" is in ${fileBase}.yaml; rename the file or set name: ${fileBase}` });
  }
  // Devices and workloads share one namespace: pods are named after workloads, and
  // `lab exec LAB NAME` must find exactly one thing.
  const seen = new Map<string, string>();
  if (v.lan) seen.set(LAN_SWITCH_NAME, 'the LAN switch');
  const outside = obj(v.root.outside);
  const named: Entry[] = [...v.spines, ...v.leaves, ...v.nodes, ...v.workloads, ...(outside ? [{ path: ['outside'], v: { name: DEFAULTS.outside.name, ...outside } }] : [])];
  let patternReported = false;
  for (const e of named) {
    const n = str(e.v.name);
    if (n === undefined) continue;
    const first = seen.get(n);
    if (first && e.generated) {
      // One report for the pattern, not one per generated node.
      if (patternReported) continue;
      patternReported = true;
      out.push({ path: [...e.path, 'name'], message: `the pattern gives ${e.generated} the name "${n}", already used by ${first}; every node needs its own name: put {i} (or {n}) in the pattern, and {leaf} or {l} when there is more than one leaf` });
    } else if (first) {
      out.push({ path: [...e.path, 'name'], message: `name "${n}" is already used by ${first}; spines, leaves, nodes, workloads and the outside host each need their own name` });
    } else {
      seen.set(n, e.generated ?? formatPath(e.path));
    }
  }
  return out;
}

function checkNodesPerLeaf(v: LabView): Issue[] {
  const out: Issue[] = [];
  const block = obj(v.kubernetes?.nodesPerLeaf);
  const path = ['kubernetes', 'nodesPerLeaf'];
  if (v.kubernetes && !block && v.nodes.length === 0 && Array.isArray(v.kubernetes.nodes)) {
    out.push({ path: ['kubernetes', 'nodes'], message: 'a cluster needs at least one node: list nodes here or declare many at once with nodesPerLeaf' });
  }
  if (v.kubernetes && !block && v.kubernetes.nodes === undefined) {
    out.push({ path: ['kubernetes'], at: 'key', message: 'needs nodes: a "nodes:" list, or "nodesPerLeaf: { count, name }" on a fabric' });
  }
  if (!block) return out;
  if (!v.fabric) {
    out.push({ path, at: 'key', message: 'only for a fabric: on a lan there are no leaves; list the nodes under kubernetes.nodes' });
    return out;
  }
  const pattern = str(block.name);
  if (pattern !== undefined) {
    const problems = patternProblems(pattern);
    if (problems.length) {
      out.push({ path: [...path, 'name'], message: `${problems.join(', ')} in "${pattern}"; placeholders: ${Object.entries(NODE_PLACEHOLDERS).map(([k, w]) => `{${k}} ${w}`).join(', ')}` });
    }
  }
  const generated = v.nodes.filter((n) => n.generated);
  const bad = generated.find((n) => !new RegExp(DEVICE_NAME.pattern as string).test(str(n.v.name) ?? ''));
  if (bad) out.push({ path: [...path, 'name'], message: `gives ${bad.generated} the name "${str(bad.v.name)}", which ${DEVICE_NAME.hint as string}` });
  const controlPlanes = int(block.controlPlanes);
  if (controlPlanes !== undefined && generated.length > 0 && controlPlanes > generated.length) {
    out.push({ path: [...path, 'controlPlanes'], message: `${controlPlanes} control planes but nodesPerLeaf declares only ${generated.length} nodes; at most ${generated.length}` });
  }
  return out;
}

function checkTimers(v: LabView): Issue[] {
  const t = obj(v.fabric?.bgpTimers);
  const keepalive = int(t?.keepalive);
  const hold = int(t?.hold);
  if (keepalive === undefined || hold === undefined || keepalive * 3 <= hold) return [];
  return [{ path: ['fabric', 'bgpTimers', 'keepalive'], message: `keepalive ${keepalive} s with hold ${hold} s: a session sends at least three keepalives per hold time; use keepalive ${Math.max(1, Math.floor(hold / 3))} or less` }];
}

function checkNodes(v: LabView): Issue[] {
  const out: Issue[] = [];
  const leafNames = v.leaves.map((l) => str(l.v.name)).filter((n): n is string => !!n);
  for (const n of v.nodes) {
    const leaf = n.v.leaf;
    if (v.fabric && leaf === undefined) {
      out.push({ path: [...n.path, 'leaf'], message: `missing required key "leaf": on a fabric every node names the leaf it is cabled to (${leafNames.join(', ')})` });
    } else if (v.fabric && typeof leaf === 'string' && !leafNames.includes(leaf)) {
      const guess = closest(leaf, leafNames);
      out.push({ path: [...n.path, 'leaf'], message: `unknown leaf "${leaf}"${guess ? ` (did you mean "${guess}"?)` : ''}; leaves: ${leafNames.join(', ') || '(none)'}` });
    } else if (v.lan && !v.fabric && leaf !== undefined) {
      out.push({ path: [...n.path, 'leaf'], at: 'key', message: 'only for a fabric: on a lan every node is on the one LAN; remove it' });
    }
  }
  // An unknown role is reported by the schema; it may have been meant as control-plane.
  const roles = v.nodes.map((n) => n.v.role ?? 'worker');
  if (roles.length > 0 && roles.every((r) => r === 'worker')) {
    out.push({ path: ['kubernetes', Object.hasOwn(v.kubernetes ?? {}, 'nodes') ? 'nodes' : 'nodesPerLeaf'], message: 'a cluster needs at least one node with role: control-plane (role defaults to worker; nodesPerLeaf.controlPlanes makes its first nodes control planes)' });
  }
  return out;
}

/**
 * Fabric designs (labs/README.md "Fabric designs"): every switch its own AS (the
 * default), spines sharing one AS (RFC 7938: no path can cross two spines), leaves
 * sharing an AS (they accept each other's routes with allowas-in). Refused: a spine and
 * a leaf in one AS (iBGP between them passes nothing on from leaf to leaf), and some
 * spines sharing while others do not (neither design: valleys stay possible through the
 * others).
 */
function checkAsns(v: LabView): Issue[] {
  const out: Issue[] = [];
  const asPerNode = v.mode === 'bgp' && str(v.calico?.peering) === 'as-per-node';
  const where = (e: Entry) => `${formatPath(e.path)} (${str(e.v.name) ?? '?'})`;
  const spineAsns = v.spines.map((s) => int(s.v.asn));
  const distinctSpineAsns = new Set(spineAsns.filter((a) => a !== undefined)).size;
  const spinesShare = distinctSpineAsns === 1 && v.spines.length > 1;
  const spineOf = new Map<number, Entry>();
  v.spines.forEach((sp, i) => {
    const asn = spineAsns[i];
    if (asn === undefined) return;
    const first = spineOf.get(asn);
    if (!first) spineOf.set(asn, sp);
    else if (!spinesShare) {
      out.push({ path: [...sp.path, 'asn'], message: `asn ${asn} is already used by ${where(first)} while other spines have their own AS: spines either all share one AS (RFC 7938) or each has its own; give this spine the AS of every other spine, or one of its own` });
    }
  });
  for (const lf of v.leaves) {
    const asn = int(lf.v.asn);
    const spine = asn === undefined ? undefined : spineOf.get(asn);
    if (spine) {
      out.push({ path: [...lf.path, 'asn'], message: `asn ${asn} is already used by ${where(spine)}: a leaf and a spine in one AS would speak iBGP, which passes no route from one leaf on to another; give the leaves ASes other than the spines' (leaves may share one AS among themselves)` });
    }
  }
  for (const sw of [...v.spines, ...v.leaves]) {
    const asn = int(sw.v.asn);
    if (asPerNode && asn !== undefined && asn > NODE_ASN_BASE && asn <= NODE_ASN_BASE + v.nodes.length) {
      out.push({ path: [...sw.path, 'asn'], message: `asn ${asn} is given to node ${asn - NODE_ASN_BASE - 1} by peering as-per-node (nodes take ${NODE_ASN_BASE + 1}..${NODE_ASN_BASE + v.nodes.length}): choose another` });
    }
  }
  return out;
}

function checkLibvirt(v: LabView): Issue[] {
  const libvirt = v.root.libvirt;
  if (!libvirt || typeof libvirt !== 'object' || Object.hasOwn(libvirt, 'kernel')) return [];
  return (['initrd', 'cmdline'] as const).filter((k) => Object.hasOwn(libvirt, k)).map((k) => ({
    path: ['libvirt', k], at: 'key' as const, message: `only used with direct kernel boot: add libvirt.kernel, or remove ${k}`,
  }));
}
