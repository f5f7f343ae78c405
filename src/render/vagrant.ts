// plan -> Vagrantfile + provision/ (DESIGN 4, 7): the libvirt side of a lab. renderVagrant
// first builds a typed model of every VM, NIC and provisioner (vagrant-model.ts), checks it
// (vagrant-check.ts: vagrant itself ignores libvirt__* options it does not know), and only
// then renders it with the templates of vagrant/.
import type { Plan } from '../plan/types.js';
import type { Artifact } from './types.js';
import { renderTemplate } from './engine.js';
import { buildVagrantModel, SCRIPTS, UPLOAD_DIR } from './vagrant-model.js';
import type { VagrantMachine, VagrantModel, RubyValue, Provisioner } from './vagrant-model.js';
import { assertVagrantModel } from './vagrant-check.js';

export { buildVagrantModel } from './vagrant-model.js';
export type { VagrantModel } from './vagrant-model.js';

/** Executable scripts get mode 0755, data files 0644. */
const SCRIPT_MODE = 0o755;

export function renderVagrant(plan: Plan): Artifact[] {
  const model = buildVagrantModel(plan);
  assertVagrantModel(model);
  const common = { lab: plan.name, upload: UPLOAD_DIR };
  const out: Artifact[] = [{ path: 'Vagrantfile', content: renderTemplate('vagrant/Vagrantfile.hbs', vagrantfileView(plan, model)) }];
  for (const script of SCRIPTS) {
    if (!model.machines.some((m) => m.provisioners.some((p) => p.type === 'shell' && p.path === `provision/${script}`))) continue;
    out.push({ path: `provision/${script}`, content: renderTemplate(`vagrant/provision/${script}.hbs`, common), mode: SCRIPT_MODE });
  }
  for (const file of model.files) out.push({ path: file.path, content: renderTemplate(file.template, { ...common, ...file.data }) });
  return out;
}

// ---- Ruby -------------------------------------------------------------------------

/** A Ruby literal for a value of the model; strings double-quoted with `\`, `"` and `#` escaped. */
export function rubyLiteral(v: RubyValue): string {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error(`not an integer: ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (/[\u0000-\u001f\u007f]/.test(v)) throw new Error(`control character in a Vagrantfile string: ${JSON.stringify(v)}`);
  return `"${v.replace(/[\\"#]/g, (c) => `\\${c}`)}"`;
}

const rubyArray = (xs: string[]) => `[${xs.map(rubyLiteral).join(', ')}]`;
/** A path of the Vagrant project folder, resolved against the Vagrantfile (not the caller's cwd). */
const projectPath = (rel: string) => `File.join(here, ${rubyLiteral(rel)})`;
const settings = (pairs: [string, RubyValue | undefined][]) =>
  pairs.filter((p): p is [string, RubyValue] => p[1] !== undefined).map(([key, value]) => ({ key, value: rubyLiteral(value) }));

function provisionerView(p: Provisioner) {
  const options = p.type === 'file'
    ? [{ key: 'source', value: projectPath(p.source) }, { key: 'destination', value: rubyLiteral(p.destination) }]
    : [{ key: 'path', value: projectPath(p.path) }, ...(p.args.length ? [{ key: 'args', value: rubyArray(p.args) }] : [])];
  return { name: rubyLiteral(p.name), type: rubyLiteral(p.type), options };
}

function machineView(m: VagrantMachine) {
  return {
    name: m.name,
    rubyName: rubyLiteral(m.name),
    summary: m.summary,
    box: rubyLiteral(m.box),
    providerSettings: settings([['memory', m.memory], ['cpus', m.cpus], ['management_network_mac', m.mgmtMac]]),
    nics: m.nics.map((n) => ({ guestName: n.guestName, comment: n.comment, options: n.options.map(([key, value]) => ({ key, value: rubyLiteral(value) })) })),
    provisioners: m.provisioners.map(provisionerView),
  };
}

function vagrantfileView(plan: Plan, model: VagrantModel) {
  const p = model.provider;
  const kinds = [...new Set(model.machines.map((m) => m.role))].map((r) => (r === 'switch' ? 'switch (spines, leaves)' : 'Kubernetes node'));
  return {
    lab: plan.name,
    description: plan.description,
    driver: p.driver,
    vmKinds: kinds.join(' and ') || 'device',
    lanNetwork: model.lanNetwork ?? null,
    tunnelSubnet: model.tunnels.subnet,
    portRange: model.tunnels.ports ? `${model.tunnels.ports.first}-${model.tunnels.ports.last}` : '(none: no point-to-point links)',
    nodeUplink: plan.underlay === 'lan' ? 'LAN' : 'leaf',
    hasFrrSwitches: model.machines.some((m) => m.switchOs === 'frr'),
    hasSwitches: model.machines.some((m) => m.role === 'switch'),
    hasNodes: model.machines.some((m) => m.role === 'node'),
    calico: plan.networking === 'vxlan' || plan.networking === 'bgp' || plan.networking === 'ipip',
    bridge: plan.networking === 'bridge',
    bootTimeout: model.bootTimeout,
    providerSettings: settings([
      ['driver', p.driver],
      ['default_prefix', model.prefix],
      ['graphics_type', 'none'],
      ['video_type', 'none'],
      ['kernel', p.kernel],
      ['initrd', p.initrd],
      ['cmd_line', p.cmdLine],
    ]),
    machines: model.machines.map(machineView),
  };
}
