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
import { missingClusterParts, startHarness, type ClusterConnection } from '../cluster/harness.ts';
import { motoVersion } from '../cluster/s3.ts';

export type ProvidedKube = { conn: KubeConnection; timings: Record<string, number> } | { skip: string };
/** The test cluster (controller + kwok + S3 + host executor) on the same API server. */
export type ProvidedCluster = ClusterConnection | { skip: string };

declare module 'vitest' {
  export interface ProvidedContext {
    kube: ProvidedKube;
    cluster: ProvidedCluster;
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
    project.provide('cluster', { skip: `no API server: ${skip}` });
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

  // SLUICE_ORACLES_CLUSTER=0 skips the test cluster (the dry-run and lint suites need none of it).
  const clusterSkip =
    process.env.SLUICE_ORACLES_CLUSTER === '0' ? 'SLUICE_ORACLES_CLUSTER=0' : skipReason(missingClusterParts());
  if (clusterSkip) {
    project.provide('cluster', { skip: clusterSkip });
    return () => cluster.stop();
  }
  let harness;
  try {
    const t1 = Date.now();
    harness = await startHarness({
      kube: cluster.conn,
      tmpDir: cluster.tmpDir,
      versions: { argo: pinnedVersion('argo'), kwok: pinnedVersion('kwok'), moto: motoVersion, ...cluster.conn.versions },
      log: (line) => console.log(`[cluster] ${line}`),
    });
    console.log(`[cluster] controller, kwok node, S3 and host executor up in ${(Date.now() - t1) / 1000}s`);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  project.provide('cluster', harness.conn);
  return async () => {
    await harness.stop();
    await cluster.stop();
  };
}
