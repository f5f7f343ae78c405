// Services as kube-proxy's iptables mode programs them on every node (nat table):
// KUBE-SERVICES matches each cluster IP and port, KUBE-SVC-<hash> spreads new
// connections over the endpoints with `statistic --mode random --probability 1/(n-i)`,
// KUBE-SEP-<hash> DNATs to one endpoint; KUBE-NODEPORTS (addrtype LOCAL) and KUBE-EXT-*
// for node ports; KUBE-MARK-MASQ marks what must be masqueraded in KUBE-POSTROUTING
// (traffic from outside the pod network to a cluster IP, node-port traffic, and an
// endpoint reaching itself through its Service). Chain names are kube-proxy's:
// base32(sha256(servicePortName + protocol [+ endpoint]))[:16]. Pure.
import { createHash } from 'node:crypto';
import type { Plan, Service, ServicePort } from '../plan/types.js';

export const MASQ_MARK = '0x4000/0x4000';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32(buf: Buffer): string {
  let bits = 0, value = 0, out = '';
  for (const b of buf) {
    value = (value << 8) | b; bits += 8;
    while (bits >= 5) { out += BASE32[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  return out;
}
const portProtoHash = (s: string) => base32(createHash('sha256').update(s).digest()).slice(0, 16);

/** kube-proxy's ServicePortName: namespace/name:portName (portName empty when unnamed). */
export const servicePortName = (s: Service, p: ServicePort) => `${s.namespace}/${s.name}${p.name ? `:${p.name}` : ''}`;
export const svcChain = (s: Service, p: ServicePort) => `KUBE-SVC-${portProtoHash(servicePortName(s, p) + 'tcp')}`;
export const extChain = (s: Service, p: ServicePort) => `KUBE-EXT-${portProtoHash(servicePortName(s, p) + 'tcp')}`;
export const sepChain = (s: Service, p: ServicePort, ip: string) => `KUBE-SEP-${portProtoHash(servicePortName(s, p) + 'tcp' + `${ip}:${p.targetPort}`)}`;

/**
 * The same for every node of a plan: computed once per plan (a 1,024-node lab asks for it
 * once per node), each caller getting its own arrays to extend.
 */
const natOfPlan = new WeakMap<Plan, { chains: string[]; rules: string[] }>();
export function kubeProxyNat(plan: Plan): { chains: string[]; rules: string[] } {
  let nat = natOfPlan.get(plan);
  if (!nat) natOfPlan.set(plan, nat = computeNat(plan));
  return { chains: [...nat.chains], rules: [...nat.rules] };
}

function computeNat(plan: Plan): { chains: string[]; rules: string[] } {
  const podSubnet = plan.cluster?.podSubnet;
  if (!plan.services.length || !podSubnet) return { chains: [], rules: [] };
  const chains = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
  const rules = [
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
    `-A KUBE-MARK-MASQ -j MARK --set-xmark ${MASQ_MARK}`,
    `-A KUBE-POSTROUTING -m mark ! --mark ${MASQ_MARK} -j RETURN`,
    '-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ];
  const nodePortRules: string[] = [];
  for (const s of plan.services) {
    for (const p of s.ports) {
      const name = servicePortName(s, p);
      const svc = svcChain(s, p);
      chains.push(svc);
      if (s.endpoints.length) {
        rules.push(`-A KUBE-SERVICES -d ${s.clusterIP}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport ${p.port} -j ${svc}`);
      } else {
        rules.push(`-A KUBE-SERVICES -d ${s.clusterIP}/32 -p tcp -m comment --comment "${name} has no endpoints" -m tcp --dport ${p.port} -j REJECT`);
      }
      rules.push(`-A ${svc} ! -s ${podSubnet} -d ${s.clusterIP}/32 -p tcp -m comment --comment "${name} cluster IP" -m tcp --dport ${p.port} -j KUBE-MARK-MASQ`);
      const n = s.endpoints.length;
      s.endpoints.forEach((e, i) => {
        const sep = sepChain(s, p, e.ip);
        chains.push(sep);
        const prob = n - i > 1 ? ` -m statistic --mode random --probability ${(1 / (n - i)).toFixed(11)}` : '';
        rules.push(`-A ${svc} -m comment --comment "${name} -> ${e.ip}:${p.targetPort}"${prob} -j ${sep}`);
        rules.push(`-A ${sep} -s ${e.ip}/32 -m comment --comment "${name}" -j KUBE-MARK-MASQ`);
        rules.push(`-A ${sep} -p tcp -m comment --comment "${name}" -m tcp -j DNAT --to-destination ${e.ip}:${p.targetPort}`);
      });
      if (p.nodePort !== undefined && n) {
        const ext = extChain(s, p);
        chains.push(ext);
        nodePortRules.push(`-A KUBE-NODEPORTS -p tcp -m comment --comment "${name}" -m tcp --dport ${p.nodePort} -j ${ext}`);
        rules.push(`-A ${ext} -m comment --comment "masquerade traffic for ${name} external destinations" -j KUBE-MARK-MASQ`, `-A ${ext} -j ${svc}`);
      }
    }
  }
  rules.push(...nodePortRules);
  rules.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  return { chains, rules };
}
