// Bridge CNI configs (DESIGN 3.5): the reference `bridge` plugin with host-local IPAM on
// each node's pod CIDR, plus the loopback plugin. Written as JSON to /etc/cni/net.d/.
import type { KNode } from '../../plan/types.js';

export const CNI_VERSION = '1.0.0';
/** Network name the container runtime reports; one flat pod network per lab. */
export const CNI_NETWORK = 'fabric-lab';

export interface BridgeConf {
  cniVersion: string;
  name: string;
  type: 'bridge';
  bridge: string;
  isGateway: true;
  ipMasq: false;
  hairpinMode: true;
  ipam: {
    type: 'host-local';
    ranges: { subnet: string; gateway: string }[][];
    routes: { dst: string }[];
  };
}

export interface LoopbackConf { cniVersion: string; name: 'lo'; type: 'loopback' }

/**
 * `ipMasq` stays false even when the lab asks for masquerade: the plugin would NAT
 * everything leaving the *node's* CIDR, including pod-to-pod traffic to other nodes, so
 * pods would see node addresses instead of pod addresses. The node provisioning adds
 * DESIGN 3.5's rule instead: MASQUERADE only for traffic leaving the whole podSubnet.
 *
 * `hairpinMode` lets a pod reach itself through its own Service: kube-proxy DNATs the
 * connection back to the pod (and masquerades it, KUBE-SEP's `-s POD -j KUBE-MARK-MASQ`),
 * so the bridge must send the frame back out of the port it came in on. Without it one
 * connection in N to an N-endpoint Service times out from each of its own pods
 * (Kubernetes' conformance test "should allow pods to hairpin back to themselves through
 * services"; flannel and podman set it too).
 */
export function bridgeConf(node: KNode): BridgeConf {
  if (!node.bridge) throw new Error(`node ${node.name} has no CNI bridge in the plan`);
  return {
    cniVersion: CNI_VERSION,
    name: CNI_NETWORK,
    type: 'bridge',
    bridge: node.bridge.name,
    isGateway: true,
    ipMasq: false,
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: node.blocks[0], gateway: node.bridge.addr.ip }]],
      routes: [{ dst: '0.0.0.0/0' }],
    },
  };
}

export const loopbackConf = (): LoopbackConf => ({ cniVersion: CNI_VERSION, name: 'lo', type: 'loopback' });
