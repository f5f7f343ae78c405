#!/usr/bin/env node
// `lab`: the command line. Commands load their modules lazily so `lab --version`
// and `lab list` start fast.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../paths.js';
import { runCommand } from './run.js';
import { badInput } from '../errors.js';

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
/** DESIGN 8.4: every command that takes a LAB can address one instance of it. */
const instanceOption = () => new Option('--instance <name>', 'an isolated copy of the lab (same rules as a lab name)');
const providerOption = () => new Option('--provider <name>', 'where to run the lab').choices(['emulator', 'libvirt']).default('emulator');

const program = new Command('lab')
  .description('Kubernetes networking labs on a real leaf-spine BGP fabric: generate, bring up, verify')
  .version(version, '-V, --version')
  .showHelpAfterError('(run `lab --help` for usage)')
  .exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

const LAB = 'lab name (labs/NAME.yaml) or path to a lab file';
const RUNNING_LAB = 'a running lab (name or lab file)';
const DEVICE = 'switch, node or pod (a unique prefix of a pod name is enough)';
/** A subcommand whose usage errors point at its own help. */
const command = (name: string) => program.command(name).showHelpAfterError(`(run \`lab ${name} --help\` for usage)`);

command('list').description('labs in labs/ with underlay, CNI mode and sizes')
  .option('--json', 'machine-readable output')
  .action((o) => runCommand(async () => (await import('./commands/inspect.js')).list(o)));

command('show').argument('<lab>', LAB)
  .description('the plan: devices, addresses, ASNs, expected sessions and routes')
  .option('--json', 'the whole plan as JSON')
  .action((lab, o) => runCommand(async () => (await import('./commands/inspect.js')).show(lab, o)));

command('render').argument('<lab>', LAB).description('write every generated artifact (default .lab/NAME/)')
  .option('--out <dir>', 'output folder')
  .action((lab, o) => runCommand(async () => (await import('./commands/inspect.js')).render(lab, o)));

command('export').argument('<lab>', LAB)
  .description('a containerlab topology (.clab.yml) of the lab, its configs in a folder beside it: runs on containerlab and, through clabverter, on clabernetes')
  .addOption(new Option('--format <format>', 'output format').choices(['containerlab']).makeOptionMandatory())
  .option('-o, --output <file>', 'the topology file (default ./LAB.clab.yml); the configs go to FILE-without-.clab.yml + "-clab/" beside it; never over existing ones without --force')
  .option('--force', 'replace an existing topology file and the config folder an earlier export wrote')
  .option('--switch-image <image>', 'container image of the FRR switches (default quay.io/frrouting/frr:8.4.2)')
  .option('--host-image <image>', 'container image of the nodes and the LAN switch: iproute2, BIRD 2, iptables, python3 (default nicolaka/netshoot:latest)')
  .addHelpText('after', `\nExamples:\n  lab export calico-vxlan --format containerlab                 # calico-vxlan.clab.yml + calico-vxlan-clab/\n  lab export dc-256 --format containerlab -o /srv/labs/dc-256.clab.yml\n  containerlab deploy -t calico-vxlan.clab.yml`)
  .action((lab, o) => runCommand(async () => (await import('./commands/export.js')).exportCmd(lab, o)));

command('up').argument('<lab>', LAB).description('render, bring up, wait for convergence, verify')
  .addOption(providerOption())
  .addOption(instanceOption())
  .option('--instances <n|list>', 'a class: N instances (s01..sNN) or a comma list of names, in parallel')
  .option('--parallel <n>', 'with --instances: how many come up at once (default: 2 per core, 2..8)')
  .option('--no-verify', 'skip the verify at the end')
  .action((lab, o) => runCommand(async () => (await import('./commands/lifecycle.js')).up(lab, o)));

command('down').argument('[lab]', 'a running lab (name or lab file); with --all and no LAB: everything').description('remove everything the lab created (idempotent)')
  .addOption(instanceOption())
  .option('--all', 'every instance of LAB; without LAB, everything fabric-lab runs')
  .action((lab, o) => runCommand(async () => (await import('./commands/lifecycle.js')).down(lab, o)));

command('status').argument('[lab]', 'one running lab (default: every running lab and instance)').description('running labs and instances, devices, daemons alive (exit 1 when one is down)')
  .addOption(instanceOption())
  .option('--json', 'machine-readable output')
  .action((lab, o) => runCommand(async () => (await import('./commands/lifecycle.js')).status(lab, o)));

command('verify').argument('<lab>', RUNNING_LAB).description('check the running lab against the plan\'s intent')
  .addOption(instanceOption())
  .option('--json', 'machine-readable report')
  .option('--full', 'probe every pod pair (default: all pairs up to 64 pods, a covering sample above)')
  .action((lab, o) => runCommand(async () => (await import('./commands/observe.js')).verifyCmd(lab, o)));

command('exec').argument('<lab>', RUNNING_LAB).argument('<device>', DEVICE)
  .argument('[cmd...]', 'the command and its arguments, after -- (none: an interactive shell, as lab shell)')
  .description('run a command on a switch, node or pod')
  .addOption(instanceOption())
  // Options of the device's command (vtysh -c) are its arguments: execCmd says to put them after --.
  .allowUnknownOption()
  .addHelpText('after', `
Examples:
  lab exec calico-vxlan leaf1 -- vtysh -c 'show bgp summary'
  lab exec calico-vxlan k8s-node-l1-1 -- ip route
  lab exec calico-bgp k8s-node-l1-1 -- birdc show protocols
  lab exec calico-vxlan leaf1            # an interactive shell on leaf1 (as lab shell)`)
  .action((lab, device, cmd, o) => runCommand(async () => (await import('./commands/observe.js')).execCmd(lab, device, cmd, { ...o, afterDashes: process.argv.includes('--') })));

command('shell').argument('<lab>', RUNNING_LAB).argument('<device>', DEVICE)
  .description('an interactive shell on a device, its name in the prompt')
  .addOption(instanceOption())
  .option('--vtysh', 'FRR\'s vtysh instead of a shell (switches)')
  .action((lab, device, o) => runCommand(async () => (await import('./commands/observe.js')).shellCmd(lab, device, o)));

command('capture').argument('<lab>', RUNNING_LAB).argument('<device>', DEVICE).argument('<iface>', 'interface on the device (eth0, swp1, vxlan.calico...)')
  .argument('[tcpdump...]', 'tcpdump arguments (after --)')
  .description('packets on an interface (tcpdump)')
  .addOption(instanceOption())
  .option('-w, --write <file>', 'write pcap to FILE instead of text (never over an existing file without --force); "-" for stdout, e.g. | wireshark -k -i -')
  .option('--force', 'with -w FILE: replace an existing file')
  .option('-c, --count <n>', 'stop after n packets')
  .action((lab, device, iface, args, o) => runCommand(async () => (await import('./commands/observe.js')).captureCmd(lab, device, iface, args, o)));

command('pods').argument('<lab>', RUNNING_LAB).description('pods like kubectl get pods -o wide')
  .addOption(instanceOption())
  .option('--json', 'machine-readable output')
  .action((lab, o) => runCommand(async () => (await import('./commands/observe.js')).pods(lab, o)));

command('fault').argument('<lab>', RUNNING_LAB).argument('<what>', 'link, daemon, peer-asn, mtu, blackhole, vni, list or clear').argument('[args...]', 'what to break: devices, then up/down/stop/start or a prefix (see the examples)')
  .description('break the running lab on purpose (and undo it): links, impairments, daemons, misconfigurations')
  .option('--delay <time>', 'link: delay each packet (tc netem), e.g. 20ms')
  .option('--jitter <time>', 'link: vary the delay by up to this much')
  .option('--loss <percent>', 'link: drop this share of packets, e.g. 5%')
  .option('--rate <rate>', 'link: limit the bandwidth, e.g. 10mbit')
  .option('--corrupt <percent>', 'link: corrupt this share of packets')
  .option('--from <device>', 'link: impair only what this end sends (default both directions)')
  .option('--asn <n>', 'peer-asn: the wrong AS number to configure (default 64999)')
  .option('--mtu <n>', 'mtu: the MTU of the first device\'s end (default 1400)')
  .option('--vni <n>', 'vni: the node\'s new VNI (default the lab\'s VNI + 1)')
  .option('--json', 'list: machine-readable output')
  .addOption(instanceOption())
  .addHelpText('after', `\nExamples:\n  lab fault calico-vxlan link leaf1 spine-sw1 down\n  lab fault calico-vxlan link leaf2 spine-sw2 --delay 20ms --jitter 5ms --loss 5%\n  lab fault calico-bgp daemon leaf1 bgpd stop\n  lab fault calico-bgp peer-asn leaf1 spine-sw1\n  lab fault calico-vxlan blackhole leaf2 10.0.101.0/24\n  lab fault calico-vxlan vni k8s-node-l2-1\n  lab fault calico-vxlan list --json\n  lab fault calico-vxlan clear`)
  .action((lab, what, args, o) => runCommand(async () => (await import('./commands/teach.js')).faultCmd(lab, what, args, o)));

command('trace').argument('<lab>', RUNNING_LAB).argument('<from>', 'pod, node or switch').argument('<to>', 'pod or IPv4 address')
  .description('the path of one packet hop by hop, from the live tables (routes, ECMP choice, neighbours, FDB, VXLAN, TTL)')
  .option('--json', 'machine-readable output')
  .option('--probe', 'also send one real packet and check each hop saw it (captures)')
  .option('--proto <proto>', 'icmp (default), udp or tcp: the flow the kernel hashes')
  .option('--port <n>', 'destination port (udp/tcp)')
  .addOption(instanceOption())
  .action((lab, from, to, o) => runCommand(async () => (await import('./commands/teach.js')).traceCmd(lab, from, to, o)));

command('graph').argument('<lab>', LAB).description('the topology: switches, nodes, links, racks; coloured by live state when running')
  .addOption(new Option('--format <format>', 'output format').choices(['mermaid', 'dot', 'svg']).default('mermaid'))
  .option('-o, --output <file>', 'write to a file instead of stdout')
  .addOption(instanceOption())
  .action((lab, o) => runCommand(async () => (await import('./commands/teach.js')).graphCmd(lab, o)));

command('policy').argument('<lab>', RUNNING_LAB).argument('<action>', 'apply FILE | delete NAME | list | matrix').argument('[args...]', 'the policy file (apply) or the policy name (delete)')
  .description('Kubernetes NetworkPolicy on the emulator: apply FILE, delete NAME [-n NS], list, matrix [--port N]')
  .addOption(instanceOption())
  .option('-n, --namespace <ns>', 'namespace of the policy to delete (default: default)')
  .option('--port <n>', 'matrix: the TCP port to probe (default 80)')
  .option('--json', 'machine-readable output (list, matrix)')
  .action((lab, action, args, o) => runCommand(async () => {
    const cmd = await import('./commands/policy.js');
    const one = (what: string) => {
      if (args.length !== 1) throw badInput(`usage: lab policy ${lab} ${action} ${what}${args.length > 1 ? ` (one ${what}, got ${args.length})` : ''}`);
      return args[0] as string;
    };
    const none = () => { if (args.length) throw badInput(`lab policy ${lab} ${action} takes no argument (got ${args.join(' ')})`); };
    if (action === 'apply') return cmd.apply(lab, one('FILE'), o);
    if (action === 'delete') return cmd.remove(lab, one('NAME'), o);
    if (action === 'list') return none(), cmd.list(lab, o);
    if (action === 'matrix') return none(), cmd.matrix(lab, o);
    throw badInput(`unknown policy action "${action}"; use apply FILE, delete NAME [-n NS], list or matrix [--port N]`);
  }));

command('services').argument('<lab>', RUNNING_LAB).description('Services like kubectl get svc -o wide, with endpoints')
  .addOption(instanceOption())
  .option('--json', 'machine-readable output')
  .action((lab, o) => runCommand(async () => (await import('./commands/policy.js')).services(lab, o)));

command('checkpoint').argument('<lab>', RUNNING_LAB).argument('<action>', 'save NAME | restore NAME | list').argument('[name...]', 'the checkpoint name (save, restore)')
  .description('save and restore running state: switch configs as running, policies, faults, exercise progress')
  .addOption(instanceOption()).option('--json', 'list: machine-readable output')
  .action((lab, action, args, o) => runCommand(async () => (await import('./commands/checkpoint.js')).checkpointCmd(lab, action, args, o)));

program.command('serve').description('the instructor\'s live web view of every running lab and instance (loopback by default)')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'TCP port (0: any free one)', '8080')
  .option('--interval <seconds>', 'how often the labs are observed', '2')
  .option('--verify-every <seconds>', 'how often each copy is verified (pings, capture)', '15')
  .action((o) => runCommand(async () => (await import('./commands/serve.js')).serveCmd(o)));

const exercise = program.command('exercise').description('exercises in labs/exercises/: start one on a copy of its lab, check it, get hints');
exercise.command('list').description('the exercises, their labs and titles').option('--json', 'machine-readable output')
  .action((o) => runCommand(async () => (await import('./commands/exercise.js')).list(o)));
for (const [verb, what] of [['start', 'bring up a clean copy of the lab and break it as the exercise says'], ['check', 'is it solved? each goal, and the next hint when not (exit 0 solved, 1 not)'],
  ['hint', 'the next hint'], ['reset', 'back to the start: a clean copy, broken again']] as const) {
  exercise.command(verb).argument('<name>', 'exercise name (labs/exercises/NAME.yaml)').description(what)
    .addOption(instanceOption()).option('--json', 'machine-readable output')
    .action((name, o) => runCommand(async () => (await import('./commands/exercise.js'))[verb](name, o)));
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // help and version exit 0; usage errors are bad input (2).
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else throw e;
}
