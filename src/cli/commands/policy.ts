// `lab policy LAB apply FILE | delete NAME [-n NS] | list | matrix [--port N]` and
// `lab services LAB` (DESIGN 8): Kubernetes NetworkPolicy and Services on the emulator.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { attach, type InstanceOption } from './observe.js';
import { badInput, ExitCode, LabError } from '../../errors.js';
import { printJson, table, c, colorEnabled } from '../output.js';
import type { Plan } from '../../plan/types.js';
import type { Provider } from '../../providers/types.js';
import type { NetworkPolicy } from '../../policy/types.js';
import { policyId } from '../../policy/types.js';
import { runKey } from '../../workshop/instance.js';

async function policyContext(ref: string, o: InstanceOption) {
  const { plan, provider, running } = await attach(ref, o);
  if (!provider.enforcePolicies) {
    throw new LabError(`lab policy runs on the emulator; on ${running.provider} the cluster is real: use kubectl on the control plane (lab exec ${plan.name} ${plan.cluster?.controlPlane ?? 'NODE'} -- kubectl apply -f ...)`, ExitCode.badInput);
  }
  const key = runKey(running.lab, running.instance);
  const store = await import('../../providers/emulator/policies.js');
  return { plan, provider, key, store };
}

/**
 * Program the nodes for `next` (the provider's Felix), then record it. A failure part way
 * leaves some nodes on the new set: they are put back to `current`, so the nodes and the
 * record agree; if even that fails, the error says the nodes may differ.
 */
export async function enforce(plan: Plan, provider: Provider, next: NetworkPolicy[], current: NetworkPolicy[], record: () => Promise<void>): Promise<void> {
  if (!provider.enforcePolicies) throw new LabError(`${provider.name} does not program NetworkPolicy`, ExitCode.badInput);
  try {
    await provider.enforcePolicies(plan.name, plan, next);
  } catch (e) {
    const why = (e as Error).message;
    const back = await provider.enforcePolicies(plan.name, plan, current).then(() => undefined, (e2: Error) => e2.message);
    throw new LabError(back === undefined
      ? `could not program the policy rules (nothing changed: the nodes are back on the policies in force): ${why}`
      : `could not program the policy rules: ${why}; putting the nodes back failed too (${back}): run the same \`lab policy\` command again`, ExitCode.hostLacks);
  }
  await record();
}

function requirePolicyCapable(plan: Plan): void {
  if (!['vxlan', 'bgp', 'ipip'].includes(plan.networking)) {
    throw badInput(`${plan.name} networks pods with ${plan.networking === 'bridge' ? 'the bridge CNI, which enforces no NetworkPolicy (as in a real cluster)' : 'no CNI'}: use a Calico lab`);
  }
}

export async function apply(ref: string, file: string, o: InstanceOption): Promise<number> {
  const { plan, provider, key, store } = await policyContext(ref, o);
  requirePolicyCapable(plan);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw badInput(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const { parsePolicies } = await import('../../policy/parse.js');
  const shown = path.relative(process.cwd(), path.resolve(file)).startsWith('..') ? file : path.relative(process.cwd(), path.resolve(file));
  const incoming = parsePolicies(text, shown);
  const known = new Set(plan.namespaces.map((n) => n.name));
  const missing = [...new Set(incoming.map((p) => p.metadata.namespace).filter((ns) => !known.has(ns)))];
  if (missing.length) throw badInput(`${shown}: namespace${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found in ${plan.name}; namespaces: ${[...known].join(', ')}`);
  const current = await store.readPolicies(key);
  const next = [...current];
  const verbs: string[] = [];
  for (const p of incoming) {
    const i = next.findIndex((x) => policyId(x) === policyId(p));
    if (i >= 0) { next[i] = p; verbs.push(`networkpolicy.networking.k8s.io/${p.metadata.name} configured (namespace ${p.metadata.namespace})`); }
    else { next.push(p); verbs.push(`networkpolicy.networking.k8s.io/${p.metadata.name} created (namespace ${p.metadata.namespace})`); }
  }
  await enforce(plan, provider, next, current, () => store.writePolicies(key, next));
  console.log(verbs.join('\n'));
  return 0;
}

export async function remove(ref: string, name: string, o: InstanceOption & { namespace?: string }): Promise<number> {
  const { plan, provider, key, store } = await policyContext(ref, o);
  const ns = o.namespace ?? 'default';
  const current = await store.readPolicies(key);
  const next = current.filter((p) => !(p.metadata.name === name && p.metadata.namespace === ns));
  if (next.length === current.length) {
    throw badInput(`no NetworkPolicy ${ns}/${name} in ${plan.name}${current.length ? `; in force: ${current.map(policyId).join(', ')}` : ' (none in force)'}`);
  }
  await enforce(plan, provider, next, current, () => store.writePolicies(key, next));
  console.log(`networkpolicy.networking.k8s.io "${name}" deleted (namespace ${ns})`);
  return 0;
}

const selectorText = (s: NetworkPolicy['spec']['podSelector']) => {
  const parts = [...Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(s.matchExpressions ?? []).map((e) => `${e.key} ${e.operator}${e.values?.length ? ` (${e.values.join(',')})` : ''}`)];
  return parts.length ? parts.join(',') : '<none>';
};

export async function list(ref: string, o: InstanceOption & { json?: boolean }): Promise<number> {
  const { key, store, plan } = await policyContext(ref, o);
  const { policyTypes } = await import('../../policy/engine.js');
  const policies = await store.readPolicies(key);
  if (o.json) return printJson(policies), 0;
  if (!policies.length) return console.log(`no NetworkPolicy in ${plan.name} (apply one with \`lab policy ${plan.name} apply FILE\`)`), 0;
  console.log(table(['NAMESPACE', 'NAME', 'POD-SELECTOR', 'POLICY-TYPES', 'INGRESS RULES', 'EGRESS RULES'],
    policies.map((p) => [p.metadata.namespace, p.metadata.name, selectorText(p.spec.podSelector), policyTypes(p).join(','), String(p.spec.ingress?.length ?? 0), String(p.spec.egress?.length ?? 0)])));
  return 0;
}

export async function matrix(ref: string, o: InstanceOption & { json?: boolean; port?: string }): Promise<number> {
  const { plan, provider, key, store } = await policyContext(ref, o);
  const port = o.port === undefined ? 80 : Number(o.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw badInput(`--port must be a TCP port 1..65535, got "${o.port}"`);
  if (plan.pods.length < 2) throw badInput(`${plan.name} has ${plan.pods.length} pod${plan.pods.length === 1 ? '' : 's'}: a matrix needs two at least (add workloads)`);
  const policies = await store.readPolicies(key);
  const { probeMany } = await import('../../policy/probe.js');
  const { buildMatrix, expectedCell, formatMatrix, target } = await import('../../policy/matrix.js');
  const jobs = plan.pods.map((from) => ({ from: from.name, targets: plan.pods.filter((to) => to !== from).map((to) => target(to, port)) }));
  const probes = await probeMany(provider, plan.name, jobs);
  // A second look at every cell that disagrees: one lost SYN must not read as a policy bug.
  const again = plan.pods.map((from) => ({
    from: from.name,
    targets: plan.pods.filter((to) => to !== from && (probes.get(from.name)?.get(target(to, port))?.ok ? '.' : 'X') !== expectedCell(plan, policies, from, to, port).cell).map((to) => target(to, port)),
  })).filter((j) => j.targets.length);
  if (again.length) {
    const second = await probeMany(provider, plan.name, again);
    for (const [from, results] of second) for (const [t, r] of results) probes.get(from)!.set(t, r);
  }
  const m = buildMatrix(plan, policies, port, probes);
  if (o.json) printJson(m);
  else console.log(colorEnabled() ? formatMatrix(m, policies).replace(/!/g, c.red('!')) : formatMatrix(m, policies));
  return m.wrong ? ExitCode.verifyFailed : m.unknown ? 5 : 0;
}

export async function services(ref: string, o: InstanceOption & { json?: boolean }): Promise<number> {
  const { plan } = await attach(ref, o);
  if (o.json) return printJson(plan.services), 0;
  if (!plan.services.length) return console.log(`no Services in ${plan.name} (no workloads)`), 0;
  console.log(table(['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'SELECTOR', 'ENDPOINTS'],
    plan.services.map((s) => [s.namespace, s.name, s.type, s.clusterIP, '<none>',
      s.ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol}`).join(','),
      Object.entries(s.selector).map(([k, v]) => `${k}=${v}`).join(','),
      s.endpoints.map((e) => `${e.ip}:${s.ports[0].targetPort}`).join(',') || '<none>'])));
  return 0;
}
