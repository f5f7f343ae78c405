#!/usr/bin/env node
// `lab`: the command line. Commands load their modules lazily so `lab --version`
// and `lab list` start fast.
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../paths.js';
import { runCommand } from './run.js';

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const providerOption = () => new Option('--provider <name>', 'where to run the lab').choices(['emulator', 'libvirt']).default('emulator');

const program = new Command('lab')
  .description('Kubernetes networking labs on a real leaf-spine BGP fabric: generate, bring up, verify')
  .version(version, '-V, --version')
  .showHelpAfterError('(run `lab --help` for usage)')
  .exitOverride();
program.configureOutput({ writeErr: (s) => process.stderr.write(s) });

program.command('list').description('labs in labs/ with underlay, CNI mode and sizes')
  .option('--json', 'machine-readable output')
  .action((o) => runCommand(async () => (await import('./commands/inspect.js')).list(o)));

program.command('show').argument('<lab>', 'lab name (labs/NAME.yaml) or path to a lab file')
  .description('the plan: devices, addresses, ASNs, expected sessions and routes')
  .option('--json', 'the whole plan as JSON')
  .action((lab, o) => runCommand(async () => (await import('./commands/inspect.js')).show(lab, o)));

program.command('render').argument('<lab>').description('write every generated artifact (default .lab/NAME/)')
  .option('--out <dir>', 'output folder')
  .action((lab, o) => runCommand(async () => (await import('./commands/inspect.js')).render(lab, o)));

program.command('up').argument('<lab>').description('render, bring up, wait for convergence, verify')
  .addOption(providerOption())
  .option('--no-verify', 'skip the verify at the end')
  .action((lab, o) => runCommand(async () => (await import('./commands/lifecycle.js')).up(lab, o)));

program.command('down').argument('<lab>').description('remove everything the lab created (idempotent)')
  .action((lab) => runCommand(async () => (await import('./commands/lifecycle.js')).down(lab)));

program.command('status').argument('[lab]').description('running labs, devices, daemons alive')
  .option('--json', 'machine-readable output')
  .action((lab, o) => runCommand(async () => (await import('./commands/lifecycle.js')).status(lab, o)));

program.command('verify').argument('<lab>').description('check the running lab against the plan\'s intent')
  .option('--json', 'machine-readable report')
  .action((lab, o) => runCommand(async () => (await import('./commands/observe.js')).verifyCmd(lab, o)));

program.command('exec').argument('<lab>').argument('<device>', 'switch, node or pod').argument('<cmd...>', 'command and arguments (after --)')
  .description('run a command on a switch, node or pod')
  .action((lab, device, cmd) => runCommand(async () => (await import('./commands/observe.js')).execCmd(lab, device, cmd)));

program.command('capture').argument('<lab>').argument('<device>').argument('<iface>').argument('[tcpdump...]', 'tcpdump arguments (after --)')
  .description('packets on an interface (tcpdump)')
  .option('-w, --write <file>', 'write a pcap file instead of text')
  .option('-c, --count <n>', 'stop after n packets')
  .action((lab, device, iface, args, o) => runCommand(async () => (await import('./commands/observe.js')).captureCmd(lab, device, iface, args, o)));

program.command('pods').argument('<lab>').description('pods like kubectl get pods -o wide')
  .option('--json', 'machine-readable output')
  .action((lab, o) => runCommand(async () => (await import('./commands/observe.js')).pods(lab, o)));

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // help and version exit 0; usage errors are bad input (2).
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else throw e;
}
