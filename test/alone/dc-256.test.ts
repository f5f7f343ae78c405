// dc-256 itself (4 spines x 32 leaves x 8 nodes, Calico BGP, 804 namespaces, 512 pods),
// the shipped file renamed: `lab up`, `lab verify --json` green with every check kind,
// a default-deny ingress NetworkPolicy applied, verified and deleted, `lab down` leaving
// nothing (test/helpers/big-lab.ts). In ./test.sh, in a pass of its
// own after the rest (ava.alone.config.mjs): it raises the host's neighbour limits, which
// the leak tests compare, and takes both cores for most of a minute.
import test from 'ava';
import { bigLabTest } from '../helpers/big-lab.js';

bigLabTest(test, {
  from: 'dc-256', name: 'ci-dc256', size: [36, 256, 512],
  kinds: ['bgp-session', 'bgp-extra', 'route', 'mtu', 'ping', 'ttl', 'encapsulation', 'service', 'service-route'],
  denyIngressIn: 'default',
}, 5 * 60_000);
