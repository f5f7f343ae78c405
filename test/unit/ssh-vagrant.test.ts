// What the libvirt provider reads from vagrant (ssh-config, status, failures) and the
// command lines it sends over SSH, without VMs.
import test from 'ava';
import { parseSshConfig, parseMachineStates, parseVagrantLine, isMilestone, vagrantFailure, vagrantfilePrefix } from '../../src/providers/libvirt/vagrant.js';
import { captureArgv, matchPod, kubectlArgv } from '../../src/providers/libvirt/pods.js';
import { shellJoin } from '../../src/providers/libvirt/ssh.js';

const SSH_CONFIG = `Host spine1
  HostName 192.168.121.182
  User vagrant
  Port 22
  UserKnownHostsFile /dev/null
  StrictHostKeyChecking no
  PasswordAuthentication no
  IdentityFile /var/lib/fabric-lab/artifacts/x/.vagrant/machines/spine1/libvirt/private_key
  IdentitiesOnly yes
  LogLevel FATAL

Host leaf1
  HostName 192.168.121.222
  User vagrant
  Port 2222
  IdentityFile "/path with space/private_key"
  IdentityFile /second/key
`;

test('parseSshConfig: one entry per Host block, first IdentityFile, quotes removed', (t) => {
  const m = parseSshConfig(SSH_CONFIG);
  t.deepEqual([...m.keys()], ['spine1', 'leaf1']);
  t.deepEqual(m.get('spine1'), {
    host: '192.168.121.182', user: 'vagrant', port: 22,
    privateKeyPath: '/var/lib/fabric-lab/artifacts/x/.vagrant/machines/spine1/libvirt/private_key',
  });
  t.deepEqual(m.get('leaf1'), { host: '192.168.121.222', user: 'vagrant', port: 2222, privateKeyPath: '/path with space/private_key' });
});

test('parseSshConfig: a block without HostName (machine not created) is left out', (t) => {
  t.deepEqual([...parseSshConfig('Host a\n  User vagrant\n  IdentityFile /k\n').keys()], []);
});

test('parseMachineStates reads the state rows of --machine-readable', (t) => {
  const out = [
    '1700000000,spine1,metadata,provider,libvirt',
    '1700000000,spine1,provider-name,libvirt',
    '1700000000,spine1,state,running',
    '1700000000,spine1,state-human-short,running',
    '1700000000,leaf1,state,not_created',
    '1700000000,,ui,info,Current machine states:',
  ].join('\n');
  t.deepEqual([...parseMachineStates(out)], [['spine1', 'running'], ['leaf1', 'not_created']]);
});

test('parseVagrantLine and milestones', (t) => {
  t.deepEqual(parseVagrantLine('==> leaf1: Starting domain.'), { machine: 'leaf1', message: 'Starting domain.' });
  t.is(parseVagrantLine('    leaf1: SSH address: 1.2.3.4:22'), undefined);
  t.true(isMilestone('Machine booted and ready!'));
  t.false(isMilestone(' -- Cpus:              1'));
});

test('vagrantFailure keeps the error, drops Ruby backtraces and progress', (t) => {
  const all = [
    '==> a: Creating domain with the following settings...',
    'Progress: 10%',
    'An error occurred while executing multiple actions in parallel.',
    "Error while activating network: Call to virNetworkCreate failed: Unable to find 'dnsmasq' binary",
    "/usr/share/rubygems-integration/all/gems/vagrant-2.3.4/lib/vagrant/action/warden.rb:48:in `call'",
  ].join('\n');
  const msg = vagrantFailure(all);
  t.regex(msg, /dnsmasq/);
  t.notRegex(msg, /warden\.rb|Progress/);
});

test('vagrantfilePrefix', (t) => {
  t.is(vagrantfilePrefix('  config.vm.provider :libvirt do |lv|\n    lv.default_prefix = "lv-smoke-"\n'), 'lv-smoke-');
  t.is(vagrantfilePrefix('lv.driver = "qemu"'), undefined);
});

test('captureArgv: tcpdump argv passed to the stopper script as positional arguments, all quoted', (t) => {
  const argv = captureArgv('swp1', ['udp port 4789', '-vv'], { packets: 5 });
  t.deepEqual(argv.slice(0, 4), ['sudo', '-n', '--', 'sh']);
  t.deepEqual(argv.slice(6), ['sh', 'tcpdump', '-i', 'swp1', '-n', '-l', '-c', '5', 'udp port 4789', '-vv']);
  const line = shellJoin(argv);
  t.true(line.endsWith("sh tcpdump -i swp1 -n -l -c 5 'udp port 4789' -vv"));
  t.deepEqual(captureArgv('eth0', [], { writeFile: '/tmp/x.pcap' }).slice(7), ['tcpdump', '-i', 'eth0', '-n', '-U', '-w', '-']);
});

test('matchPod: exact IP first, else the k-th pod of the workload on the node', (t) => {
  const planPods = [
    { name: 'nginx-aaaaaaaaaa-11111', namespace: 'space1', workload: 'nginx', node: 'n1', ip: '10.64.0.2' },
    { name: 'nginx-aaaaaaaaaa-22222', namespace: 'space1', workload: 'nginx', node: 'n1', ip: '10.64.0.3' },
  ];
  const item = (name: string, node: string, ip: string) => ({
    metadata: { name }, spec: { nodeName: node }, status: { phase: 'Running', podIP: ip, containerStatuses: [{ ready: true }] },
  });
  const list = { items: [item('nginx-7f9c-zzzzz', 'n1', '10.64.7.9'), item('nginx-7f9c-aaaaa', 'n1', '10.64.7.8'), item('other-1', 'n1', '10.64.7.1')] };
  t.is(matchPod(planPods[0], planPods, list)?.name, 'nginx-7f9c-aaaaa');
  t.is(matchPod(planPods[1], planPods, list)?.name, 'nginx-7f9c-zzzzz');
  const exact = { items: [...list.items, item('nginx-7f9c-exact', 'n2', '10.64.0.3')] };
  t.is(matchPod(planPods[1], planPods, exact)?.name, 'nginx-7f9c-exact');
  t.is(matchPod({ ...planPods[0], node: 'n3' }, planPods, list), undefined);
  t.deepEqual(kubectlArgv(['get', 'pods']), ['kubectl', '--kubeconfig', '/etc/kubernetes/admin.conf', 'get', 'pods']);
});
