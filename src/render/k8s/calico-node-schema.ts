// Calico Node (projectcalico.org/v3) has no CRD: in Kubernetes-datastore mode it is a view
// of the Kubernetes Node. This JSON schema is written from Calico's Go API
// (api/pkg/apis/projectcalico/v3/node.go: NodeSpec, NodeBGPSpec and their `validate`
// tags), closed like the CRD schemas so an unknown or misspelt field is an error.
// ASNs are uint32 (numorstring.ASNumber): as-per-node uses 32-bit private ASNs.

export const calicoNodeSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    metadata: { type: 'object' }, // replaced by the ObjectMeta schema, as for the CRDs
    spec: {
      type: 'object',
      properties: {
        bgp: {
          type: 'object',
          properties: {
            asNumber: { type: 'integer', minimum: 1, maximum: 4294967295 },
            ipv4Address: { type: 'string', format: 'ipv4-interface' },
            ipv6Address: { type: 'string', format: 'ipv6-interface' },
            ipv4IPIPTunnelAddr: { type: 'string', format: 'ipv4' },
            routeReflectorClusterID: { type: 'string', format: 'ipv4' },
          },
        },
        ipv4VXLANTunnelAddr: { type: 'string', format: 'ipv4' },
        vxlanTunnelMACAddr: { type: 'string', pattern: '^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$' },
        addresses: {
          type: 'array',
          items: { type: 'object', required: ['address'], properties: { address: { type: 'string' }, type: { enum: ['CalicoNodeIP', 'InternalIP', 'ExternalIP'] } } },
        },
        orchRefs: {
          type: 'array',
          items: { type: 'object', required: ['orchestrator'], properties: { nodeName: { type: 'string' }, orchestrator: { type: 'string' } } },
        },
      },
    },
  },
} as const;
