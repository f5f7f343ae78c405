// Kubernetes' own name rules (apimachinery validation), shared by the lab file (labels,
// port names) and NetworkPolicy documents. Each returns undefined when valid, else what
// is wrong in words that say what is allowed.

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A label key: an optional DNS-subdomain prefix and "/", then a name of 1-63 characters. */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) {
    return `label key "${key}": the prefix before "/" must be a DNS subdomain (lowercase letters, digits, "-" and ".", at most 253 characters)`;
  }
  if (!name.length || name.length > 63 || !NAME_PART.test(name)) {
    return `label key "${key}": the name must be 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

/** A label value: empty, or 1-63 characters of the label-name alphabet. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME_PART.test(value)) {
    return `label value "${value}" must be at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (or empty)`;
  }
  return undefined;
}

/** A port name (IANA_SVC_NAME): 1-15 lowercase letters, digits and "-", one letter at least, no "--". */
export function portNameProblem(name: string): string | undefined {
  if (!name.length || name.length > 15 || !DNS_LABEL.test(name)) {
    return `port name "${name}" must be 1-15 lowercase letters, digits and "-", starting and ending with a letter or digit`;
  }
  if (!/[a-z]/.test(name)) return `port name "${name}" must contain at least one letter`;
  if (name.includes('--')) return `port name "${name}" must not contain "--"`;
  return undefined;
}

export function dnsSubdomainProblem(name: string): string | undefined {
  if (!name.length || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    return `"${name}" must be a DNS subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit, at most 253 characters`;
  }
  return undefined;
}

export function dnsLabelProblem(name: string): string | undefined {
  if (!name.length || name.length > 63 || !DNS_LABEL.test(name)) {
    return `"${name}" must be a DNS label: 1-63 lowercase letters, digits and "-", starting and ending with a letter or digit`;
  }
  return undefined;
}
