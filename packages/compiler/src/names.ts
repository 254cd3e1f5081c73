/**
 * Kubernetes-safe names (internal). DNS-1123 labels: lowercase alphanumerics and `-`, starting
 * and ending with an alphanumeric, at most 63 characters. A name that has to be changed keeps a
 * readable prefix and gains a short content hash of the original, so that two different inputs
 * never collapse to the same name (cdk8s `names.ts` does the same).
 */
import { createHash } from 'node:crypto';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const PARAM_NAME = /^[-a-zA-Z0-9_]+$/;

export function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

export function isDnsLabel(name: string, max = 63): boolean {
  return name.length <= max && DNS_LABEL.test(name);
}

/** `name` if it already is a DNS-1123 label, else a sanitised prefix plus a hash of `name`. */
export function dnsLabel(name: string, max = 63): string {
  if (isDnsLabel(name, max)) return name;
  const hash = shortHash(name);
  const cleaned = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-+|-+$/g, '');
  const prefix = cleaned.slice(0, max - hash.length - 1).replace(/-+$/, '');
  return prefix ? `${prefix}-${hash}` : `x-${hash}`.slice(0, max);
}

/** An Argo parameter/artifact name (`[-a-zA-Z0-9_]+`), kept when valid, else sanitised + hash. */
export function argoParamName(name: string, max = 63): string {
  if (name.length <= max && PARAM_NAME.test(name)) return name;
  const hash = shortHash(name);
  const cleaned = name.replace(/[^-a-zA-Z0-9_]+/g, '_');
  return `${cleaned.slice(0, max - hash.length - 1)}-${hash}`;
}

/** Hands out unique names in call order: the first asker of a base gets it, later ones `base-2`, `base-3`… */
export class NameRegistry {
  private readonly used = new Set<string>();
  constructor(reserved: Iterable<string> = []) {
    for (const r of reserved) this.used.add(r);
  }
  take(base: string): string {
    const b = dnsLabel(base, 58);
    let name = b;
    for (let i = 2; this.used.has(name); i++) name = `${b}-${i}`;
    this.used.add(name);
    return name;
  }
  has(name: string): boolean {
    return this.used.has(name);
  }
}
