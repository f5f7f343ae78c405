// Kubernetes networking.k8s.io/v1 NetworkPolicy, the fields the API has (validated by
// parse.ts against the API's schema and rules before anything else sees them).

export interface LabelSelectorRequirement { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }
export interface LabelSelector { matchLabels?: Record<string, string>; matchExpressions?: LabelSelectorRequirement[] }
export type Protocol = 'TCP' | 'UDP' | 'SCTP';
export interface NetworkPolicyPort { protocol?: Protocol; port?: number | string; endPort?: number }
export interface IPBlock { cidr: string; except?: string[] }
export interface NetworkPolicyPeer { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: IPBlock }
export interface IngressRule { from?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }
export interface EgressRule { to?: NetworkPolicyPeer[]; ports?: NetworkPolicyPort[] }
export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: {
    podSelector: LabelSelector;
    policyTypes?: PolicyType[];
    ingress?: IngressRule[];
    egress?: EgressRule[];
  };
}

/** What the engine needs of a pod (or of a host outside the cluster: no namespace). */
export interface Endpoint {
  name: string;
  namespace?: string;
  ip: string;
  labels: Record<string, string>;
  ports: { name?: string; port: number; protocol: Protocol }[];
}

export interface Cluster {
  endpoints: Endpoint[];
  /** Namespace name -> its labels. */
  namespaces: Map<string, Record<string, string>>;
}

/** One connection attempt: TCP/UDP/SCTP to a port, or ICMP (only rules without ports allow it). */
export type Traffic = { protocol: Protocol; port: number } | { protocol: 'ICMP' };

export const policyId = (p: NetworkPolicy) => `${p.metadata.namespace}/${p.metadata.name}`;
