// vitest globalSetup: one API server per test run, shared by every test file through
// inject('kube'); torn down (process groups killed, data removed) when the run ends.
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import {
  binDir,
  missingBinary,
  missingGo,
  missingSharedArgo,
  pinnedVersion,
  sharedArgo,
  skipReason,
} from '../paths.ts';
import type { KubeConnection } from './client.ts';
import { startCluster } from './cluster.ts';

export type ProvidedKube = { conn: KubeConnection; timings: Record<string, number> } | { skip: string };

declare module 'vitest' {
  export interface ProvidedContext {
    kube: ProvidedKube;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  // SLUICE_ORACLES_KUBE=0 is a deliberate opt-out (e.g. to run only argo-lint quickly).
  const skip =
    process.env.SLUICE_ORACLES_KUBE === '0'
      ? 'SLUICE_ORACLES_KUBE=0'
      : skipReason(missingGo() ?? missingBinary('kube-apiserver') ?? missingBinary('etcd') ?? missingSharedArgo());
  if (skip) {
    project.provide('kube', { skip });
    return undefined;
  }
  const t0 = Date.now();
  const cluster = await startCluster({
    binDir,
    crdDir: path.join(sharedArgo, 'crds'),
    versions: { kubernetes: pinnedVersion('kube'), etcd: pinnedVersion('etcd') },
    log: (line) => console.log(`[oracles] ${line}`),
  });
  const timings = { ...cluster.timings, total: (Date.now() - t0) / 1000 };
  console.log(`[oracles] API server up with Argo CRDs in ${timings.total}s`);
  project.provide('kube', { conn: cluster.conn, timings });
  return () => cluster.stop();
}
