/**
 * Kubernetes-safe names (internal). The rules (DNS-1123 labels, Argo parameter names, a readable
 * prefix plus a short content hash when a name has to change) are the SDK's semantics
 * (`packages/sdk/src/semantics/names.ts`); this file adds the per-compile registry.
 */
import { dnsLabel } from '@sluice/sdk';

export { argoParamName, dnsLabel, isDnsLabel, shortHash } from '@sluice/sdk';

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
