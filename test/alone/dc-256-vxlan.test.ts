// dc-256-vxlan itself (dc-256's fabric, Calico VXLAN: 256 VTEPs, ~67,000 neighbour
// entries), the shipped file renamed: `lab up`, `lab verify --json` green with every
// check kind (the capture sees VXLAN on the wire), `lab down` leaving nothing
// (test/helpers/big-lab.ts). In ./test.sh's pass of its own (ava.alone.config.mjs).
import test from 'ava';
import { bigLabTest } from '../helpers/big-lab.js';

bigLabTest(test, {
  from: 'dc-256-vxlan', name: 'ci-dc256vx', size: [36, 256, 512],
  kinds: ['bgp-session', 'bgp-extra', 'route', 'mtu', 'ping', 'ttl', 'encapsulation', 'service'],
}, 5 * 60_000);
