// Workloads, namespaces, Services and the outside host (DESIGN 8.3): labels as
// Kubernetes accepts them, ports and node ports unique, cluster IPs inside the service
// subnet and free, the outside host behind a switch that exists.
import { formatPath, type Issue, type Seg } from './positions.js';
import { contains, broadcast, formatIp, ipProblem, parseIp, parseNet } from './ipv4.js';
import { entries, obj, str, int, type LabView, type Raw } from './raw.js';
import { labelKeyProblem, labelValueProblem, portNameProblem } from './k8s-names.js';
import { closest } from './shape-errors.js';
import { LAN_SWITCH_NAME } from './checks.js';

/** Workload i takes address number SERVICE_IP_OFFSET + i of serviceSubnet (.1 and .10 stay free for kubernetes and kube-dns). */
export const SERVICE_IP_OFFSET = 100;
/** Default node port of workload i: NODE_PORT_BASE + i, skipping explicit ones. */
export const NODE_PORT_BASE = 30080;

function checkLabels(labels: unknown, path: Seg[]): Issue[] {
  const m = obj(labels);
  if (!m) return [];
  const out: Issue[] = [];
  for (const [k, val] of Object.entries(m)) {
    const kp = labelKeyProblem(k);
    if (kp) out.push({ path: [...path, k], at: 'key', message: kp });
    if (typeof val === 'string') {
      const vp = labelValueProblem(val);
      if (vp) out.push({ path: [...path, k], message: vp });
    }
  }
  return out;
}

export function checkWorkloads(v: LabView): Issue[] {
  const out: Issue[] = [];
  const nodePorts = new Map<number, string>();
  const clusterIps = new Map<number, string>();
  const svcNet = (() => { const t = str(v.kubernetes?.serviceSubnet); const r = t ? parseNet(t) : undefined; return r && 'net' in r ? r.net : undefined; })();
  if (svcNet && v.workloads.length && SERVICE_IP_OFFSET + v.workloads.length > svcNet.size - 1) {
    out.push({ path: ['kubernetes', 'serviceSubnet'], message: `${svcNet.text} has no room for ${v.workloads.length} Services: workload i takes address ${SERVICE_IP_OFFSET} + i; use a larger serviceSubnet` });
  }
  for (const w of v.workloads) {
    out.push(...checkLabels(w.v.labels, [...w.path, 'labels']));
    const labels = obj(w.v.labels);
    if (labels && Object.hasOwn(labels, 'app') && labels.app !== str(w.v.name)) {
      out.push({ path: [...w.path, 'labels', 'app'], message: `every pod is labelled app: <workload name> ("${str(w.v.name) ?? '?'}"); remove this label or rename the workload` });
    }
    const names = new Map<string, Seg[]>();
    const numbers = new Map<number, Seg[]>();
    for (const p of entries(w.v.ports, [...w.path, 'ports'])) {
      const name = str(p.v.name);
      if (name !== undefined) {
        const problem = portNameProblem(name);
        if (problem) out.push({ path: [...p.path, 'name'], message: problem });
        else if (names.has(name)) out.push({ path: [...p.path, 'name'], message: `port name "${name}" is already used by ${formatPath(names.get(name)!)}` });
        else names.set(name, p.path);
      }
      const port = int(p.v.port);
      if (port !== undefined) {
        if (numbers.has(port)) out.push({ path: [...p.path, 'port'], message: `port ${port} is already listed at ${formatPath(numbers.get(port)!)}` });
        else numbers.set(port, p.path);
      }
    }
    const svc = obj(w.v.service);
    if (!svc) continue;
    const nodePort = int(svc.nodePort);
    if (nodePort !== undefined) {
      if (svc.type !== 'NodePort') out.push({ path: [...w.path, 'service', 'nodePort'], at: 'key', message: 'only for type: NodePort; add type: NodePort or remove it' });
      const first = nodePorts.get(nodePort);
      if (first) out.push({ path: [...w.path, 'service', 'nodePort'], message: `node port ${nodePort} is already used by ${first}` });
      else nodePorts.set(nodePort, formatPath(w.path));
      if (entries(w.v.ports, []).length > 1) out.push({ path: [...w.path, 'service', 'nodePort'], message: 'a workload with several ports gets one node port per port, counted up from the default: remove nodePort' });
    }
    const ipText = str(svc.clusterIP);
    if (ipText !== undefined) {
      const ip = parseIp(ipText);
      const path = [...w.path, 'service', 'clusterIP'];
      if (ip === undefined) out.push({ path, message: ipProblem(ipText) });
      else if (svcNet && (!contains(svcNet, ip) || ip === svcNet.base || ip === broadcast(svcNet))) {
        out.push({ path, message: `${ipText} is not a host address of serviceSubnet ${svcNet.text}` });
      } else if (clusterIps.has(ip)) {
        out.push({ path, message: `${ipText} is already used by ${clusterIps.get(ip)}` });
      } else clusterIps.set(ip, formatPath(w.path));
    }
  }
  // An automatic cluster IP must not land on an explicit one.
  if (svcNet) {
    v.workloads.forEach((w, i) => {
      if (str(obj(w.v.service)?.clusterIP) !== undefined) return;
      const auto = svcNet.base + SERVICE_IP_OFFSET + i;
      const taken = clusterIps.get(auto);
      if (taken) out.push({ path: [...w.path, 'name'], message: `its automatic cluster IP ${formatIp(auto)} (address ${SERVICE_IP_OFFSET} + ${i}) is taken by ${taken}: choose another clusterIP there` });
    });
  }

  const namespaces = entries(v.root.namespaces, ['namespaces']);
  const seen = new Map<string, Seg[]>();
  for (const n of namespaces) {
    const name = str(n.v.name);
    if (name !== undefined) {
      if (seen.has(name)) out.push({ path: [...n.path, 'name'], message: `namespace "${name}" is already listed at ${formatPath(seen.get(name)!)}` });
      else seen.set(name, n.path);
    }
    out.push(...checkLabels(n.v.labels, [...n.path, 'labels']));
    const labels = obj(n.v.labels);
    if (labels && Object.hasOwn(labels, 'kubernetes.io/metadata.name')) {
      out.push({ path: [...n.path, 'labels', 'kubernetes.io/metadata.name'], at: 'key', message: 'set by Kubernetes to the namespace name on every namespace; remove it' });
    }
  }
  if (namespaces.length && !v.kubernetes) out.push({ path: ['namespaces'], at: 'key', message: 'namespaces need a "kubernetes:" section' });
  out.push(...checkOutside(v));
  return out;
}

function checkOutside(v: LabView): Issue[] {
  const outside = obj(v.root.outside);
  if (!outside) return [];
  const out: Issue[] = [];
  const via = str(outside.via);
  const leaves = v.leaves.map((l) => str(l.v.name)).filter((n): n is string => !!n);
  if (via !== undefined) {
    if (v.fabric && !leaves.includes(via)) {
      const guess = closest(via, leaves);
      out.push({ path: ['outside', 'via'], message: `unknown leaf "${via}"${guess ? ` (did you mean "${guess}"?)` : ''}; the outside host hangs off a leaf: ${leaves.join(', ')}` });
    } else if (v.lan && !v.fabric && via !== LAN_SWITCH_NAME) {
      out.push({ path: ['outside', 'via'], message: `on a lan the outside host hangs off the LAN switch: via: ${LAN_SWITCH_NAME} (or leave it out)` });
    }
  }
  const subnet = str(outside.subnet);
  const r = subnet ? parseNet(subnet) : undefined;
  if (r && 'net' in r && r.net.prefixLen > 30) {
    out.push({ path: ['outside', 'subnet'], message: `${r.net.text} is too small: the border switch takes the first host and the outside host the second; use a /30 or larger` });
  }
  return out;
}

