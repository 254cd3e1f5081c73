import { isStatus, type KubeClient } from './client.ts';
import { readManifests } from '../manifests.ts';

export interface Verdict {
  /** One line per rejected object: the server's Status message. */
  rejections: string[];
  warnings: string[];
  accepted: number;
}

/**
 * Submits every Kubernetes object of a YAML file with server-side dry run and strict field
 * validation; nothing is stored.
 */
export async function dryRun(kube: KubeClient, file: string): Promise<Verdict> {
  const v: Verdict = { rejections: [], warnings: [], accepted: 0 };
  for (const m of readManifests(file)) {
    // A namespace the manifest names is the deployer's business, not the oracle's.
    const ns = (m.object.metadata as { namespace?: unknown } | undefined)?.namespace;
    if (typeof ns === 'string') await kube.ensureNamespace(ns);
    const res = await kube.dryRunCreate(m.object);
    v.warnings.push(...res.warnings.map((w) => `${m.label}: ${w}`));
    if (res.status === 201 || res.status === 200) v.accepted++;
    else if (isStatus(res.body) && res.body.message !== undefined) v.rejections.push(res.body.message);
    else v.rejections.push(`${m.label}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }
  return v;
}
