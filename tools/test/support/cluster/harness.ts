// The test cluster on top of the throwaway API server: Argo's own workflow controller (our
// small main around github.com/argoproj/argo-workflows/v4/workflow/controller), a kwok node,
// moto's S3 server as Argo's artifact repository, and the host executor that runs the pods bound
// to the kwok node. Everything on 127.0.0.1, every process under the watchdog, one scratch
// directory removed by stop().
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeClient, type KubeConnection } from '../kube/client.ts';
import { startProcess, stopProcess, waitFor, type Proc } from '../kube/cluster.ts';
import { binDir, repoRoot } from '../paths.ts';
import { HostExecutor } from './host-executor.ts';
import { missingMoto, startS3, type S3Connection } from './s3.ts';

export const NODE_NAME = 'sluice-kwok-0';

/** The Node installations `node:<major>` images run on besides the host's: Node 22 when scripts/node22.sh has installed it (asked with `where`, which installs nothing). */
function nodeInstalls(): Record<string, string> {
  try {
    const dir = execFileSync('bash', [path.join(repoRoot, 'scripts/node22.sh'), 'where'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dir ? { '22': dir } : {};
  } catch {
    return {};
  }
}
export const CONTROLLER_CONFIGMAP = 'workflow-controller-configmap';
export const S3_SECRET = 'sluice-artifact-repository';

/** What test files get through inject('cluster'). */
export interface ClusterConnection {
  kube: KubeConnection;
  /** Namespace workflows are submitted to (also the controller's own). */
  namespace: string;
  s3: S3Connection;
  nodeName: string;
  /** Host executor isolation: 'mount-namespace' or the serialised 'shared-host-paths' fallback. */
  isolation: string;
  versions: Record<string, string>;
  timings: Record<string, number>;
  /** Folder of the host executor's per-pod directories and the controller/kwok logs. */
  tmpDir: string;
}

export function missingClusterParts(): string | undefined {
  for (const b of ['workflow-controller', 'kwok']) {
    if (!existsSync(path.join(binDir, b))) return `tools/.bin/${b} is missing: run \`bash tools/setup.sh\` to build it`;
  }
  return missingMoto();
}

export interface Harness {
  readonly conn: ClusterConnection;
  readonly executor: HostExecutor;
  stop(): Promise<void>;
}

// The node's stages (kwok's Stage API): a Ready node with a 127.0.0.1 address only, and pods
// that are being deleted are removed at once. No pod lifecycle stages: the host executor sets
// pod phases and container states from what really ran.
const kwokStages = (kubeletPort: number): string => `
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: sluice-node-ready
spec:
  resourceRef: {apiGroup: v1, kind: Node}
  selector:
    matchExpressions:
    - key: '.status.phase'
      operator: 'NotIn'
      values: ['Running']
  next:
    statusTemplate: |
      phase: Running
      addresses:
      - type: InternalIP
        address: {{ NodeIP | Quote }}
      conditions:
      - type: Ready
        status: "True"
        reason: KubeletReady
        message: "kwok node; pods run on the host through the Sluice host executor"
        lastHeartbeatTime: {{ Now | Quote }}
        lastTransitionTime: {{ Now | Quote }}
      capacity: {cpu: "2", memory: 8Gi, pods: "10000"}
      allocatable: {cpu: "2", memory: 8Gi, pods: "10000"}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: kwok-v0.8.0
      daemonEndpoints:
        kubeletEndpoint:
          Port: ${kubeletPort}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: sluice-pod-delete
spec:
  resourceRef: {apiGroup: v1, kind: Pod}
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'Exists'
  next:
    delete: true
`;

function controllerConfig(s3: S3Connection): Record<string, string> {
  // Each key is one field of Argo's controller Config, as YAML.
  return {
    metricsConfig: 'enabled: false\n',
    telemetryConfig: 'enabled: false\n',
    artifactRepository: [
      'archiveLogs: false',
      's3:',
      `  bucket: ${s3.bucket}`,
      `  endpoint: ${s3.endpoint}`,
      '  insecure: true',
      `  region: ${s3.region}`,
      `  accessKeySecret: {name: ${S3_SECRET}, key: accessKey}`,
      `  secretKeySecret: {name: ${S3_SECRET}, key: secretKey}`,
      '',
    ].join('\n'),
    // No scheduler runs: every pod is bound to the kwok node by the controller's own patch.
    workflowDefaults: `spec:\n  podSpecPatch: '{"nodeName":"${NODE_NAME}"}'\n`,
  };
}

/**
 * Starts one server of the harness from tools/.bin under the watchdog (its log in `tmp`, its
 * process group stopped by the harness's stop()) and waits until `ready` says it serves; a server
 * that exits first, or is not ready in time, fails the start with the tail of its log.
 */
async function startServer(
  procs: Proc[],
  tmp: string,
  s: { name: string; args: string[]; env?: Record<string, string>; readyWhen: string; timeoutMs: number; ready: () => Promise<boolean> },
): Promise<Proc> {
  const proc = startProcess(s.name, tmp, path.join(binDir, s.name), s.args, s.env ?? {});
  procs.push(proc);
  await waitFor(s.readyWhen, proc, s.timeoutMs, s.ready);
  return proc;
}

/** Submits a one-step workflow and waits for it: true once it succeeded (the controller runs workflows end to end). */
async function firstWorkflow(client: KubeClient, ns: string): Promise<boolean> {
  const wf = (await client.ok('POST', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflows`, {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: { generateName: 'harness-ready-' },
    spec: { entrypoint: 'main', templates: [{ name: 'main', container: { image: 'busybox', command: ['true'] } }] },
  })) as { metadata: { name: string } };
  for (let i = 0; i < 200; i++) {
    const got = (await client.ok('GET', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflows/${wf.metadata.name}`)) as { status?: { phase?: string; message?: string } };
    if (got.status?.phase === 'Succeeded') return true;
    if (got.status?.phase === 'Failed' || got.status?.phase === 'Error') throw new Error(`first workflow ${got.status.phase}: ${got.status.message}`);
    await sleep(250);
  }
  return false;
}

export async function startHarness(opts: {
  kube: KubeConnection;
  tmpDir: string;
  log?: (line: string) => void;
  versions?: Record<string, string>;
}): Promise<Harness> {
  const log = opts.log ?? (() => {});
  const client = new KubeClient(opts.kube);
  const ns = opts.kube.namespace;
  const tmp = path.join(opts.tmpDir, 'cluster');
  mkdirSync(tmp, { recursive: true });
  const procs: Proc[] = [];
  let executor: HostExecutor | undefined;
  let s3Stop: (() => Promise<void>) | undefined;
  const timings: Record<string, number> = {};
  const stop = async (): Promise<void> => {
    await executor?.stop();
    for (const p of [...procs].reverse()) await stopProcess(p);
    await s3Stop?.();
  };
  try {
    let t0 = Date.now();
    const s3 = await startS3(tmp, log);
    s3Stop = s3.stop;
    timings.s3 = (Date.now() - t0) / 1000;

    t0 = Date.now();
    // No controller-manager runs: the default ServiceAccount is made by hand.
    await client.ok('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    await client.ok('POST', `/api/v1/namespaces/${ns}/secrets`, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: S3_SECRET },
      stringData: { accessKey: s3.conn.accessKey, secretKey: s3.conn.secretKey },
    });
    await client.ok('POST', `/api/v1/namespaces/${ns}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CONTROLLER_CONFIGMAP },
      data: controllerConfig(s3.conn),
    });
    await client.ok('POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: NODE_NAME,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux', type: 'kwok' },
      },
    });

    const shim = path.join(tmp, 'bin');
    mkdirSync(shim, { recursive: true });
    writeFileSync(
      path.join(shim, 'sluice'),
      `#!/bin/sh\n# The \`sluice\` of the image: this repository's runner bin.\nexec "${process.execPath}" "${path.join(repoRoot, 'packages/runner/bin/sluice.mjs')}" "$@"\n`,
    );
    chmodSync(path.join(shim, 'sluice'), 0o755);
    executor = new HostExecutor({
      kube: client,
      nodeName: NODE_NAME,
      s3: s3.conn,
      workDir: path.join(tmp, 'pods'),
      cwd: repoRoot,
      binDir: shim,
      maxParallel: Number(process.env.SLUICE_CLUSTER_PODS ?? 4),
      nodeInstalls: nodeInstalls(),
      log,
    });
    // The node's kubelet endpoint serves the pods' logs (the API server proxies pods/log to it).
    const kubeletPort = await executor.serveLogs();
    executor.start();

    const stages = path.join(tmp, 'kwok-stages.yaml');
    writeFileSync(stages, kwokStages(kubeletPort));
    await startServer(procs, tmp, {
      name: 'kwok',
      args: [`--config=${stages}`, `--kubeconfig=${opts.kube.kubeconfig}`, `--manage-single-node=${NODE_NAME}`, '--node-ip=127.0.0.1', '--cidr=127.200.0.0/16'],
      readyWhen: 'the kwok node to be Ready',
      timeoutMs: 60_000,
      ready: async () => {
        const node = (await client.ok('GET', `/api/v1/nodes/${NODE_NAME}`)) as { status?: { conditions?: { type: string; status: string }[] } };
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
      },
    });
    timings.kwok = (Date.now() - t0) / 1000;
    log(`kwok node ${NODE_NAME} Ready in ${timings.kwok}s`);

    t0 = Date.now();
    await startServer(procs, tmp, {
      name: 'workflow-controller',
      // Its own namespace and the only one it watches (other suites share the API server).
      args: [`--kubeconfig=${opts.kube.kubeconfig}`, `--namespace=${ns}`, `--managed-namespace=${ns}`, `--configmap=${CONTROLLER_CONFIGMAP}`, '--loglevel=info'],
      env: { DEFAULT_REQUEUE_TIME: '1s', LEADER_ELECTION_DISABLE: 'true' },
      // The controller is ready when it has reconciled a trivial workflow end to end.
      readyWhen: 'the workflow controller to run a first workflow',
      timeoutMs: 120_000,
      ready: () => firstWorkflow(client, ns),
    });
    timings.controller = (Date.now() - t0) / 1000;
    log(`workflow controller ran a first workflow in ${timings.controller}s (host executor: ${executor.mode})`);

    return {
      executor,
      stop,
      conn: {
        kube: opts.kube,
        namespace: ns,
        s3: s3.conn,
        nodeName: NODE_NAME,
        isolation: executor.mode,
        versions: opts.versions ?? {},
        timings,
        tmpDir: tmp,
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
