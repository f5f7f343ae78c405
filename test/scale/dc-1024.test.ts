// dc-1024 itself (4 spines x 64 leaves x 16 nodes, Calico BGP, leaves send nodes only a
// default route, 1,092 namespaces, 128 pods), the shipped file renamed: `lab up`, `lab
// verify --json` green with every check kind, `lab down` leaving nothing
// (test/helpers/big-lab.ts). Behind `npm run test:scale`: minutes and ~5 GB, alone on the host.
import test from 'ava';
import { bigLabTest } from '../helpers/big-lab.js';

bigLabTest(test, {
  from: 'dc-1024', name: 'ci-dc1024', size: [68, 1024, 128],
  kinds: ['bgp-session', 'bgp-extra', 'route', 'mtu', 'ping', 'ttl', 'encapsulation', 'service', 'service-route'],
}, 20 * 60_000);
