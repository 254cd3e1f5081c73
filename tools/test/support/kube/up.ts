// Starts the oracle API server by hand, for debugging a rejection interactively:
//   node_modules/.bin/tsx tools/test/support/kube/up.ts
// (SLUICE_KUBE_NO_CRDS=1 skips the Argo CRDs)
// prints a kubeconfig path and the connection, then runs until Ctrl-C (and cleans up).
import path from 'node:path';
import { binDir, missingBinary, missingSharedArgo, pinnedVersion, sharedArgo } from '../paths.ts';
import { startCluster } from './cluster.ts';

const missing = missingBinary('kube-apiserver') ?? missingBinary('etcd') ?? missingSharedArgo();
if (missing) {
  console.error(missing);
  process.exit(1);
}
const cluster = await startCluster({
  binDir,
  ...(process.env.SLUICE_KUBE_NO_CRDS ? {} : { crdDir: path.join(sharedArgo, 'crds') }),
  versions: { kubernetes: pinnedVersion('kube'), etcd: pinnedVersion('etcd') },
  log: (l) => console.log(l),
});
console.log(`server:     ${cluster.conn.server}`);
console.log(`namespace:  ${cluster.conn.namespace}`);
console.log(`kubeconfig: ${cluster.conn.kubeconfig}`);
console.log(`token:      ${cluster.conn.token}`);
console.log(`pgids:      ${cluster.pgids.join(' ')}`);
console.log(`tmp:        ${cluster.tmpDir}`);
console.log('Ctrl-C stops it and removes its data.');
const stop = (): void => {
  void cluster.stop().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
