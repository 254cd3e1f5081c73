// Starts the whole test cluster by hand (API server + Argo CRDs + workflow controller + kwok node
// + S3 + host executor), for debugging a compiled workflow on Argo's real controller:
//   node_modules/.bin/tsx tools/test/support/cluster/up.ts [workflow.yaml ...]
// With files, submits each Workflow, waits for it and prints its phase, message and nodes, then
// stops. Without, prints the kubeconfig and runs until Ctrl-C (and cleans up).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { binDir, missingBinary, missingSharedArgo, pinnedVersion, sharedArgo } from '../paths.ts';
import { startCluster } from '../kube/cluster.ts';
import { missingClusterParts, startHarness } from './harness.ts';
import { parseManifest, submitWorkflow, summarize, waitForWorkflow } from './workflows.ts';
import { KubeClient } from '../kube/client.ts';

const missing = missingBinary('kube-apiserver') ?? missingBinary('etcd') ?? missingSharedArgo() ?? missingClusterParts();
if (missing) {
  console.error(missing);
  process.exit(1);
}
const cluster = await startCluster({
  binDir,
  crdDir: path.join(sharedArgo, 'crds'),
  versions: { kubernetes: pinnedVersion('kube'), etcd: pinnedVersion('etcd') },
  log: (l) => console.log(l),
});
const harness = await startHarness({ kube: cluster.conn, tmpDir: cluster.tmpDir, log: (l) => console.log(l) }).catch(async (err) => {
  await cluster.stop();
  throw err;
});
const stopAll = async (): Promise<void> => {
  await harness.stop();
  await cluster.stop();
};
const files = process.argv.slice(2);
if (files.length) {
  const kube = new KubeClient(cluster.conn);
  try {
    for (const f of files) {
      const wf = parseManifest(readFileSync(f, 'utf8'));
      const name = await submitWorkflow(kube, harness.conn.namespace, wf);
      const done = await waitForWorkflow(kube, harness.conn.namespace, name, 600_000);
      console.log(JSON.stringify(summarize(done), null, 2));
      if (process.env.SLUICE_UP_VERBOSE) console.log(JSON.stringify({ outputs: done.status?.outputs, nodes: done.status?.nodes }, null, 1));
    }
  } finally {
    await stopAll();
  }
} else {
  console.log(`kubeconfig: ${cluster.conn.kubeconfig}`);
  console.log(`namespace:  ${harness.conn.namespace}`);
  console.log(`s3:         http://${harness.conn.s3.endpoint} bucket ${harness.conn.s3.bucket}`);
  console.log(`tmp:        ${cluster.tmpDir}`);
  console.log('Ctrl-C stops it and removes its data.');
  const stop = (): void => void stopAll().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
