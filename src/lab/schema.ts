// The structure of a lab file (DESIGN section 2) as a JSON schema: types, allowed keys,
// enums, ranges and name patterns. Relations between fields (references, overlaps,
// capacity) are checked in checks.ts. `hint` is our own annotation: the words used
// when a value breaks the field's pattern.

type Schema = Record<string, unknown>;

/** Mapping with exactly these keys: anything else is an error (a typo is never ignored). */
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema =>
  ({ type: 'object', properties, required, additionalProperties: false });
const list = (items: Schema, minItems = 0): Schema => ({ type: 'array', items, minItems });
const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
const oneOf = (...values: string[]): Schema => ({ type: 'string', enum: values });
const text = (pattern: string, hint: string): Schema => ({ type: 'string', pattern, hint });
const str: Schema = { type: 'string' };
const bool: Schema = { type: 'boolean' };

const NAME_CHARS = 'lowercase letters, digits and "-", starting and ending with a letter or digit';
export const LAB_NAME = text('^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$', `must be 1-20 ${NAME_CHARS}`);
/** Device names become host names, namespaces and file names: nothing a shell or a path could misread. */
export const DEVICE_NAME = text('^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$', `must be 1-32 ${NAME_CHARS} (no "/", "..", spaces or shell characters)`);
const DNS_LABEL = text('^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$', `must be a DNS-1123 label: 1-63 ${NAME_CHARS}`);
const ASN = int(1, 4294967295);
/** Calico's IPv4 range. */
export const BLOCK_SIZE = int(20, 32);
/** A node CIDR holds the bridge address, one pod at least, and broadcast. */
export const NODE_CIDR_BITS = int(1, 30);

/** BGP hold time and keepalive in seconds (RFC 4271: hold 0 or >= 3; keepalive at most a third of it, checked in checks.ts). */
export const BGP_TIMERS = obj({ keepalive: int(1, 21845), hold: int(3, 65535) }, ['keepalive', 'hold']);

const fabric = obj({
  os: oneOf('cumulus', 'frr'),
  bgpTimers: BGP_TIMERS,
  addressing: obj({ loopback: str, p2p: str }, ['loopback', 'p2p']),
  spines: list(obj({ name: DEVICE_NAME, asn: ASN }, ['name', 'asn']), 1),
  leaves: list(obj({ name: DEVICE_NAME, asn: ASN, rack: str }, ['name', 'asn', 'rack']), 1),
}, ['addressing', 'spines', 'leaves']);

const kubernetes = obj({
  version: text('^[0-9]+\\.[0-9]+(\\.[0-9]+)?$', 'must be a Kubernetes version like "1.30" or "1.30.2"'),
  podSubnet: str,
  serviceSubnet: str,
  nodes: list(obj({
    name: DEVICE_NAME,
    leaf: str,
    role: oneOf('control-plane', 'worker'),
    ip: str,
  }, ['name'])),
  // Many nodes at once: `count` per leaf, named by a pattern (placeholders in lab/expand.ts).
  nodesPerLeaf: obj({
    count: int(1, 4096),
    name: text('^[a-z0-9{}-]{1,64}$', 'must be a name pattern of lowercase letters, digits, "-" and the placeholders {leaf}, {l}, {i}, {n}, like "k8s-{leaf}-{i}"'),
    controlPlanes: int(0, 4096),
  }, ['count', 'name']),
}, ['version', 'podSubnet', 'serviceSubnet']);

const cni = obj({
  plugin: oneOf('calico', 'bridge'),
  calico: obj({
    mode: oneOf('vxlan', 'bgp', 'ipip'),
    blockSize: BLOCK_SIZE,
    vxlanVNI: int(1, 16777215),
    vxlanPort: int(1, 65535),
    natOutgoing: bool,
    asNumber: ASN,
    peering: oneOf('as-per-rack', 'as-per-node'),
    routesToNodes: oneOf('all', 'default'),
  }, ['mode']),
  bridge: obj({
    bridge: text('^[a-z][a-z0-9_-]{0,14}$', 'must be a Linux interface name: 1-15 lowercase letters, digits, "_" or "-", starting with a letter'),
    nodeCidrBits: NODE_CIDR_BITS,
    masquerade: bool,
  }),
}, ['plugin']);

/** Kubernetes labels; keys and values are checked in checks.ts (k8s-names.ts). */
const LABELS: Schema = { type: 'object', additionalProperties: { type: 'string', hint: 'must be text: quote values YAML reads as numbers or booleans ("1", "true")' } };
/** An IANA service name, as a container port name (the letter and "--" rules are in checks.ts). */
export const PORT_NAME = text('^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$', 'must be a port name: 1-15 lowercase letters, digits and "-", starting and ending with a letter or digit');
export const NODE_PORT = int(30000, 32767);
/** Far past any one host's capacity; the real bound is the room in the nodes' blocks (networks.ts). */
export const MAX_REPLICAS = 100_000;
const workload = obj({
  name: DNS_LABEL,
  namespace: DNS_LABEL,
  replicas: int(1, MAX_REPLICAS),
  labels: LABELS,
  ports: list(obj({ name: PORT_NAME, port: int(1, 65535) }, ['port']), 1),
  service: obj({ type: oneOf('ClusterIP', 'NodePort'), clusterIP: str, nodePort: NODE_PORT }),
}, ['name']);

const namespace = obj({ name: DNS_LABEL, labels: LABELS }, ['name']);
const outside = obj({ name: DEVICE_NAME, subnet: str, via: str, port: int(1, 65535) });

const FILE_PATH = text('^[A-Za-z0-9._/+@~-]+$', 'must be a file path of letters, digits and "._/+@~-" (no spaces or quotes)');
const BOX = text('^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$', 'must be a Vagrant box name like "debian/bookworm64"');
const libvirt = obj({
  driver: oneOf('kvm', 'qemu'),
  switchBox: BOX,
  nodeBox: BOX,
  switchMemory: int(128, 1048576),
  switchCpus: int(1, 64),
  nodeMemory: int(128, 1048576),
  nodeCpus: int(1, 64),
  calicoVersion: text('^[0-9]+\\.[0-9]+\\.[0-9]+$', 'must be a Calico release like "3.28.2"'),
  kernel: FILE_PATH,
  initrd: FILE_PATH,
  cmdline: text('^[A-Za-z0-9 ._/=,:+@-]*$', 'must be a kernel command line of letters, digits, spaces and "._/=,:+@-"'),
});

export const labSchema = obj({
  name: LAB_NAME,
  description: { type: 'string', maxLength: 200, pattern: '^[^\\u0000-\\u001f\\u007f]*$', hint: 'must be one line of text (no tabs or control characters)' },
  fabric,
  lan: obj({ subnet: str, gateway: str }, ['subnet', 'gateway']),
  kubernetes,
  cni,
  workloads: list(workload),
  namespaces: list(namespace),
  outside,
  libvirt,
}, ['name']);

// Compiled ahead of time into lab-validator.generated.ts by scripts/gen-lab-validator.ts
// (load.ts uses that), so start-up never imports ajv nor compiles this.

/** The keys a mapping in the schema allows, for "allowed: ..." messages. */
export const allowedKeys = (schema: unknown): string[] =>
  Object.keys((schema as { properties?: object }).properties ?? {});
