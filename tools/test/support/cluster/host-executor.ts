// The host executor: plays the container runtime + kubelet + argoexec (init and wait containers)
// for pods that Argo's real workflow controller creates and binds to the kwok node, so that the
// steps of compiled Sluice workflows really run, on this machine. It never decides anything the
// controller decides (retries, conditions, loops, outputs wiring, deadlines of the workflow): it
// only does what a node would do with a pod, and reports back the way argoexec does.
//
// For each Pending pod on the node (see tools/README.md, "What the host executor emulates"):
//   1. init  (argoexec init):  input artifacts from the artifact repository (S3, key-only or
//            full location; tar.gz auto-detected and unpacked like Argo) or raw, to their paths.
//   2. main  (emissary + runtime): the main container's original command (the part after
//            `argoexec emissary ... --`) with the kubelet's `$(VAR)` expansion of command, args
//            and env, run on the host in a private mount namespace (`unshare -m`) in which each
//            pod path root (e.g. /tmp/sluice) is bind-mounted from a per-pod directory; cwd is
//            the repository root (the image's WORKDIR of `COPY . .`). `sluice` on PATH is this
//            repository's runner bin; other images' commands (python3 ...) are the host's.
//   3. wait  (argoexec wait):  a WorkflowTaskResult named by the node id (created empty, then
//            the outputs: parameters from their paths with default and one trailing newline
//            trimmed, artifacts tar.gz'd and uploaded under the archive location's key, or at
//            their own key), then the `report-outputs-completed=true` label.
//   4. kubelet: pod status: Running, then Succeeded/Failed with the init/main/wait container
//            states and exit codes; the step deadline (ARGO_DEADLINE) and the pod's
//            activeDeadlineSeconds are enforced; a deleted pod's process group is killed.
// An input artifact outside /tmp/<dir>/ (the over-limit bundle at /sluice/bundle) is bind-mounted
// at its path. The agent pod (http templates) runs the workflow's WorkflowTaskSet tasks instead.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as Minio from 'minio';
import type { KubeClient } from '../kube/client.ts';
import { getObject, listKeys, s3Client, type S3Connection } from './s3.ts';

const EXECUTOR_PREFIX = '/var/run/argo/argoexec';
const AGENT_LABEL = 'workflows.argoproj.io/component';
/**
 * No cluster DNS or kube-proxy here: an http task's `<service>.<namespace>.svc` URL is sent to the
 * `host:port` this annotation of the Service names (a test's server on 127.0.0.1).
 */
export const SERVICE_ADDRESS_ANNOTATION = 'host-executor.sluice.dev/address';

/** Argo's `http` template, as far as the agent uses it. */
export interface HttpTemplate {
  url: string;
  method?: string;
  headers?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  body?: string;
  bodyFrom?: unknown;
  timeoutSeconds?: number;
  successCondition?: string;
}

/** One http task the agent ran: the request as the controller rendered it, and its result. */
export interface AgentRequest {
  workflow: string;
  nodeId: string;
  http?: HttpTemplate;
  result: { phase: string; message?: string };
}

export interface HostExecutorOptions {
  kube: KubeClient;
  nodeName: string;
  s3: S3Connection;
  /** Per-pod directories go here. */
  workDir: string;
  /** Working directory of main containers (the image's WORKDIR). */
  cwd: string;
  /** Prepended to PATH (holds the `sluice` shim). */
  binDir: string;
  /** Pods run at once; more wait in Pending, as on a full node. @default 4 */
  maxParallel?: number;
  /**
   * Node.js installations by major version (`'22'` -> its directory, with `bin/node`), for main
   * containers of a stock `node:<major>…` image: that `bin` comes first on PATH, so the step runs
   * on the image's Node. The host's own Node serves its own major; another major without an
   * installation fails the pod (its `init`), rather than running the step on the wrong Node.
   */
  nodeInstalls?: { readonly [major: string]: string };
  log?: (line: string) => void;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  workingDir?: string;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}
/** The one volume kind emulated besides the pod paths: a ConfigMap's keys as files (the bundle of `sluice submit`). */
interface Volume {
  name: string;
  configMap?: { name: string; optional?: boolean; items?: { key: string; path: string }[] };
  [k: string]: unknown;
}
interface Pod {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: {
    nodeName?: string;
    containers: Container[];
    initContainers?: Container[];
    activeDeadlineSeconds?: number;
    terminationGracePeriodSeconds?: number;
    volumes?: Volume[];
  };
  status?: { phase?: string };
}
interface S3Loc {
  bucket?: string;
  key?: string;
  endpoint?: string;
  insecure?: boolean;
  region?: string;
  accessKeySecret?: { name: string; key: string };
  secretKeySecret?: { name: string; key: string };
}
interface Artifact {
  name: string;
  path?: string;
  optional?: boolean;
  mode?: number;
  archive?: { none?: object; tar?: { compressionLevel?: number }; zip?: object };
  s3?: S3Loc;
  raw?: { data: string };
  [k: string]: unknown;
}
interface Parameter {
  name: string;
  value?: string;
  valueFrom?: { path?: string; default?: string; [k: string]: unknown };
  [k: string]: unknown;
}
interface Template {
  name?: string;
  inputs?: { parameters?: Parameter[]; artifacts?: Artifact[] };
  outputs?: { parameters?: Parameter[]; artifacts?: Artifact[]; result?: string; [k: string]: unknown };
  archiveLocation?: { s3?: S3Loc; archiveLogs?: boolean };
}

/** What happened to one pod, kept for tests and for the README's emulation figures. */
export interface PodRecord {
  namespace: string;
  name: string;
  uid: string;
  workflow: string;
  nodeId: string;
  template: string;
  command: string[];
  exitCode?: number;
  waitError?: string;
  initError?: string;
  startedAt: number;
  finishedAt?: number;
  killed?: string;
  isolation: 'mount-namespace' | 'shared-host-paths';
  /** The pod's directory (main.stdout, main.log: its container log). */
  dir?: string;
}

// Runs "$@" in its own process group; if the Node process that started it dies, kills the group.
// On TERM it forwards TERM to the child and exits with the child's status.
const POD_WATCHDOG = `
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null' TERM
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$WATCH_PID" 2>/dev/null; then kill -KILL 0; fi
  sleep 0.5 & wait $! 2>/dev/null
done
wait "$child"
`;

// Inside the private mount namespace: bind each SRC DST pair, then exec the command.
const MOUNT_AND_EXEC = `
set -e
while [ "$1" != "--" ]; do mount --bind "$1" "$2"; shift 2; done
shift
cd "$SLUICE_POD_CWD"
exec "$@"
`;

/** Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party expansion): `$$` -> `$`, `$(NAME)` -> value if defined. */
export function expandK8s(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const n = input[i + 1]!;
    if (n === '$') {
      out += '$';
      i++;
    } else if (n === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v === undefined ? `$(${name})` : v;
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

function canUnshare(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' }).status === 0;
}

export class HostExecutor {
  readonly records: PodRecord[] = [];
  readonly agentRequests: AgentRequest[] = [];
  private readonly handled = new Map<string, { kill: (why: string) => void; done: Promise<void> }>();
  private readonly running = new Set<string>();
  private stopped = false;
  private loop: Promise<void> | undefined;
  private readonly isolation: PodRecord['isolation'];
  private readonly maxParallel: number;
  private readonly s3Clients = new Map<string, Minio.Client>();
  private readonly log: (line: string) => void;
  /** Serialises pods when there is no mount namespace (they share the host's pod paths). */
  private hostPathLock: Promise<void> = Promise.resolve();
  private logServer: Server | undefined;

  constructor(private readonly o: HostExecutorOptions) {
    this.log = o.log ?? (() => {});
    this.isolation = canUnshare() ? 'mount-namespace' : 'shared-host-paths';
    this.maxParallel = this.isolation === 'mount-namespace' ? (o.maxParallel ?? 4) : 1;
    if (this.isolation === 'shared-host-paths') {
      this.log(
        'host executor: no private mount namespace (needs root and `unshare -m`): pods use the host paths themselves (e.g. /tmp/sluice), one pod at a time, emptied between pods',
      );
    }
  }

  get mode(): PodRecord['isolation'] {
    return this.isolation;
  }

  start(): void {
    mkdirSync(this.o.workDir, { recursive: true });
    this.loop = this.run();
  }

  /**
   * The kubelet's container-log endpoint (`GET /containerLogs/<ns>/<pod>/<container>[?follow=true]`),
   * which the API server proxies `pods/<name>/log` to: HTTPS on 127.0.0.1 with a throwaway
   * self-signed certificate (the API server is not given a kubelet CA, so it does not verify it, as
   * with a default kubelet). The log of `main` is what the step wrote (stdout, then stderr as it
   * comes); `init` and `wait` have none. Returns the port (the node's kubeletEndpoint).
   */
  async serveLogs(): Promise<number> {
    const dir = mkdtempSync(path.join(tmpdir(), 'sluice-kubelet-cert-'));
    let key: string;
    let cert: string;
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'k.pem'), '-out', path.join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      key = readFileSync(path.join(dir, 'k.pem'), 'utf8');
      cert = readFileSync(path.join(dir, 'c.pem'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const server = createServer({ key, cert }, (req, res) => {
      this.containerLogs(req, res).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(err.message));
      });
    });
    this.logServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return (server.address() as { port: number }).port;
  }

  private async containerLogs(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'https://127.0.0.1');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(u.pathname);
    if (req.method !== 'GET' || !m) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`not served by the host executor: ${req.method} ${u.pathname}`);
      return;
    }
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent) as [string, string, string];
    const rec = [...this.records].reverse().find((r) => r.namespace === ns && r.name === pod);
    if (!rec?.dir) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(`pod ${ns}/${pod} has not run on this node`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    if (container !== 'main') {
      res.end();
      return;
    }
    const files = ['main.stdout', 'main.log'].map((f) => path.join(rec.dir!, f));
    const sent = files.map(() => 0);
    const follow = u.searchParams.get('follow') === 'true';
    for (;;) {
      const done = rec.finishedAt !== undefined;
      files.forEach((f, i) => {
        if (!existsSync(f)) return;
        const size = statSync(f).size;
        if (size <= sent[i]!) return;
        const buf = Buffer.alloc(size - sent[i]!);
        const fd = openSync(f, 'r');
        try {
          readSync(fd, buf, 0, buf.length, sent[i]!);
        } finally {
          closeSync(fd);
        }
        sent[i] = size;
        res.write(buf);
      });
      if (!follow || done || this.stopped || res.destroyed) break;
      await sleep(200);
    }
    res.end();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.logServer?.closeAllConnections();
    this.logServer?.close();
    for (const h of this.handled.values()) h.kill('executor stopped');
    await this.loop;
    await Promise.all([...this.handled.values()].map((h) => h.done));
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.poll();
      } catch (err) {
        if (!this.stopped) this.log(`host executor: poll failed: ${(err as Error).message}`);
      }
      await sleep(200);
    }
  }

  private async poll(): Promise<void> {
    const sel = encodeURIComponent(`spec.nodeName=${this.o.nodeName}`);
    const res = await this.o.kube.request('GET', `/api/v1/pods?fieldSelector=${sel}`);
    if (res.status !== 200) throw new Error(`list pods: HTTP ${res.status}`);
    const pods = (res.body as { items: Pod[] }).items;
    const present = new Map(pods.map((p) => [p.metadata.uid, p]));
    // Pods deleted (or being deleted) while their process runs: the kubelet kills the containers.
    for (const [uid, h] of this.handled) {
      const p = present.get(uid);
      if ((!p || p.metadata.deletionTimestamp) && this.running.has(uid)) h.kill('pod deleted');
    }
    for (const pod of pods) {
      if (this.stopped) return;
      if (this.handled.has(pod.metadata.uid) || pod.metadata.deletionTimestamp) continue;
      if ((pod.status?.phase ?? 'Pending') !== 'Pending') continue;
      if (this.running.size >= this.maxParallel) return;
      this.startPod(pod);
    }
  }

  private startPod(pod: Pod): void {
    const uid = pod.metadata.uid;
    this.running.add(uid);
    let killer: (why: string) => void = () => {};
    let killedBefore: string | undefined;
    const handle = {
      kill: (why: string) => {
        killedBefore ??= why;
        killer(why);
      },
      done: Promise.resolve(),
    };
    this.handled.set(uid, handle);
    handle.done = (async () => {
      const release = this.isolation === 'shared-host-paths' ? await this.lockHostPaths() : () => {};
      try {
        await this.runPod(pod, (k) => {
          killer = k;
          if (killedBefore) k(killedBefore);
        });
      } catch (err) {
        this.log(`host executor: pod ${pod.metadata.namespace}/${pod.metadata.name}: ${(err as Error).stack ?? err}`);
      } finally {
        release();
        this.running.delete(uid);
      }
    })();
  }

  private lockHostPaths(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.hostPathLock;
    this.hostPathLock = prev.then(() => next);
    return prev.then(() => release);
  }

  // ---- one pod ---------------------------------------------------------------------------

  private async runPod(pod: Pod, onKill: (k: (why: string) => void) => void): Promise<void> {
    if (pod.metadata.labels?.[AGENT_LABEL] === 'agent') return this.runAgent(pod, onKill);
    const { namespace: ns, name } = pod.metadata;
    const main = pod.spec.containers.find((c) => c.name === 'main');
    const wait = pod.spec.containers.find((c) => c.name === 'wait');
    if (!main) throw new Error('no main container (only container templates are emulated)');
    const argoEnv = new Map<string, string>();
    for (const c of [main, ...(pod.spec.initContainers ?? []), ...(wait ? [wait] : [])]) {
      for (const e of c.env ?? []) if (e.value !== undefined && e.name.startsWith('ARGO_')) argoEnv.set(e.name, e.value);
    }
    const tmplJson = argoEnv.get('ARGO_TEMPLATE');
    if (!tmplJson) throw new Error('no ARGO_TEMPLATE');
    if (tmplJson === 'offloaded') throw new Error('offloaded ARGO_TEMPLATE (ConfigMap) is not emulated');
    const tmpl = JSON.parse(tmplJson) as Template;
    const nodeId = argoEnv.get('ARGO_NODE_ID') ?? name;
    const workflow = argoEnv.get('ARGO_WORKFLOW_NAME') ?? pod.metadata.labels?.['workflows.argoproj.io/workflow'] ?? '';
    const wfUid = argoEnv.get('ARGO_WORKFLOW_UID') ?? '';
    // Named by the pod (tests find a failed step's log by it), unique by the uid.
    const podDir = path.join(this.o.workDir, `${ns}_${name}_${pod.metadata.uid.slice(0, 8)}`);
    mkdirSync(podDir, { recursive: true });

    // The pod paths: every input/output path, grouped by root (/tmp/<first>); each root is a
    // per-pod directory bind-mounted over the same path in the step's mount namespace.
    const podPaths = [
      ...(tmpl.inputs?.artifacts ?? []).map((a) => a.path),
      ...(tmpl.outputs?.artifacts ?? []).map((a) => a.path),
      ...(tmpl.outputs?.parameters ?? []).map((p) => p.valueFrom?.path),
    ].filter((p): p is string => typeof p === 'string' && p !== '');
    const roots = new Map<string, string>(); // pod root -> host dir
    // An input artifact elsewhere (the bundle `sluice submit` puts in the artifact repository, at
    // /sluice/bundle): its own per-pod file or directory, bind-mounted at its path, as Argo mounts
    // the input-artifacts volume there.
    const inputMounts = new Map<string, string>(); // pod path -> host path
    const inputPaths = new Set((tmpl.inputs?.artifacts ?? []).map((a) => a.path).filter((p): p is string => !!p).map((p) => path.posix.normalize(p)));
    for (const p of podPaths) {
      const n = path.posix.normalize(p);
      const m = /^\/tmp\/([^/]+)\//.exec(n);
      if (!m && inputPaths.has(n) && n.startsWith('/') && n !== '/' && this.isolation === 'mount-namespace') {
        inputMounts.set(n, path.join(podDir, 'inputs', n.slice(1).replace(/\//g, '_')));
        continue;
      }
      if (!m) throw new Error(`pod path ${p} is not under /tmp/<dir>/: the host executor maps only such paths (and input artifacts elsewhere, in a mount namespace)`);
      const root = `/tmp/${m[1]}`;
      if (!roots.has(root)) roots.set(root, path.join(podDir, 'fs', m[1]!));
    }
    if (roots.size === 0) roots.set('/tmp/sluice', path.join(podDir, 'fs', 'sluice'));
    // ConfigMap volumes of the main container (kubelet): the keys as files in a per-pod directory,
    // bind-mounted at the mount path (an empty directory is made on the host as the mount point).
    const volumeMounts: [string, string][] = []; // [host dir, mount path]
    const emptyDirs: string[] = []; // pod paths made as empty directories
    for (const vm of main.volumeMounts ?? []) {
      // Argo's own volumes are argoexec's business, which is us: var-run-argo (the emissary's
      // binary and signals) and input-artifacts (each input at its path, placed by init above).
      if (vm.name === 'var-run-argo' || vm.name === 'input-artifacts') continue;
      const vol = pod.spec.volumes?.find((v) => v.name === vm.name);
      if (vol?.emptyDir !== undefined) {
        if (vm.subPath) throw new Error(`volume ${vm.name}: subPath is not emulated`);
        // An emptyDir: a fresh directory. Under a pod path root it is that root's directory (already
        // private to the pod); elsewhere a per-pod directory bind-mounted at the mount path.
        const n = path.posix.normalize(vm.mountPath);
        const under = [...roots.keys()].some((r) => n === r || n.startsWith(`${r}/`));
        if (under || this.isolation === 'shared-host-paths') {
          emptyDirs.push(n);
          continue;
        }
        const dir = path.join(podDir, 'vol', vm.name);
        mkdirSync(dir, { recursive: true });
        mkdirSync(vm.mountPath, { recursive: true });
        volumeMounts.push([dir, vm.mountPath]);
        continue;
      }
      if (!vol?.configMap) continue; // not emulated (Argo's own var-run-argo emptyDir: argoexec is us)
      if (vm.subPath) throw new Error(`volume ${vm.name}: subPath is not emulated`);
      if (this.isolation !== 'mount-namespace') throw new Error(`volume ${vm.name}: volumes need the mount-namespace isolation`);
      const cm = await this.getObj(`/api/v1/namespaces/${ns}/configmaps/${vol.configMap.name}`);
      if (!cm && !vol.configMap.optional) throw new Error(`configmap ${vol.configMap.name} not found`);
      const dir = path.join(podDir, 'vol', vm.name);
      mkdirSync(dir, { recursive: true });
      const data = (cm?.data ?? {}) as Record<string, string>;
      const binary = (cm?.binaryData ?? {}) as Record<string, string>;
      const items = vol.configMap.items ?? [...Object.keys(data), ...Object.keys(binary)].map((key) => ({ key, path: key }));
      for (const it of items) {
        const f = path.join(dir, it.path);
        mkdirSync(path.dirname(f), { recursive: true });
        if (it.key in data) writeFileSync(f, data[it.key]!);
        else if (it.key in binary) writeFileSync(f, Buffer.from(binary[it.key]!, 'base64'));
        else if (!vol.configMap.optional) throw new Error(`configmap ${vol.configMap.name} has no key ${it.key}`);
      }
      mkdirSync(vm.mountPath, { recursive: true });
      volumeMounts.push([dir, vm.mountPath]);
    }
    const hostPath = (p: string): string => {
      const n = path.posix.normalize(p);
      if (this.isolation === 'shared-host-paths') return n;
      for (const [at, host] of inputMounts) if (n === at || n.startsWith(`${at}/`)) return path.join(host, n.slice(at.length));
      for (const [root, dir] of roots) if (n === root || n.startsWith(`${root}/`)) return path.join(dir, n.slice(root.length));
      throw new Error(`pod path ${p} has no root`);
    };
    for (const [root, dir] of roots) {
      if (this.isolation === 'shared-host-paths') {
        rmSync(root, { recursive: true, force: true });
        mkdirSync(root, { recursive: true });
      } else {
        mkdirSync(dir, { recursive: true });
        mkdirSync(root, { recursive: true }); // the mount point on the host (an empty directory)
      }
    }
    for (const d of emptyDirs) mkdirSync(hostPath(d), { recursive: true });

    const record: PodRecord = {
      namespace: ns,
      name,
      uid: pod.metadata.uid,
      workflow,
      nodeId,
      template: tmpl.name ?? '',
      command: [],
      startedAt: Date.now(),
      isolation: this.isolation,
      dir: podDir,
    };
    this.records.push(record);
    const startedAt = isoNow();

    // ---- init: input artifacts
    let nodeBin: string | undefined;
    try {
      nodeBin = this.nodeBinFor(main.image);
      for (const art of tmpl.inputs?.artifacts ?? []) await this.loadArtifact(ns, tmpl, art, hostPath, podDir);
      // the mount points on the host: an empty directory or file of the artifact's kind
      for (const [at, host] of inputMounts) {
        if (!existsSync(host)) mkdirSync(host, { recursive: true }); // an optional artifact not supplied
        if (statSync(host).isDirectory()) mkdirSync(at, { recursive: true });
        else if (!existsSync(at)) {
          mkdirSync(path.posix.dirname(at), { recursive: true });
          writeFileSync(at, '');
        }
        volumeMounts.unshift([host, at]);
      }
    } catch (err) {
      record.initError = (err as Error).message;
      record.finishedAt = Date.now();
      await this.patchStatus(pod, {
        phase: 'Failed',
        startTime: startedAt,
        initContainerStatuses: [this.ctrStatus('init', { terminated: { exitCode: 1, reason: 'Error', message: record.initError, startedAt, finishedAt: isoNow() } })],
        containerStatuses: [
          this.ctrStatus('main', { waiting: { reason: 'PodInitializing' } }),
          this.ctrStatus('wait', { waiting: { reason: 'PodInitializing' } }),
        ],
      });
      return;
    }

    // ---- main: the command, as the kubelet would start it
    const env = await this.containerEnv(pod, main);
    const lookup = (k: string): string | undefined => env.get(k);
    const fullCmd = [...(main.command ?? []), ...(main.args ?? [])].map((s) => expandK8s(s, lookup));
    let cmd = fullCmd;
    if (cmd[0] === EXECUTOR_PREFIX) {
      const dd = cmd.indexOf('--');
      cmd = cmd.slice(dd + 1);
    }
    record.command = cmd;
    const mainStarted = isoNow();
    await this.patchStatus(pod, {
      phase: 'Running',
      startTime: startedAt,
      hostIP: '127.0.0.1',
      initContainerStatuses: [this.ctrStatus('init', { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: mainStarted } })],
      containerStatuses: [
        this.ctrStatus('main', { running: { startedAt: mainStarted } }, true),
        this.ctrStatus('wait', { running: { startedAt: mainStarted } }, true),
      ],
    });
    // wait: InitializeOutput (an empty task result) while main runs
    await this.upsertTaskResult(ns, nodeId, workflow, wfUid, {});

    const procEnv: Record<string, string> = {
      PATH: `${nodeBin ? `${nodeBin}:` : ''}${this.o.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: process.env.HOME ?? '/root',
      HOSTNAME: name,
      ...(process.env.PYENV_ROOT ? { PYENV_ROOT: process.env.PYENV_ROOT } : {}),
      ...(process.env.LANG ? { LANG: process.env.LANG } : {}),
      ...Object.fromEntries(env),
      SLUICE_POD_CWD: main.workingDir ?? this.o.cwd,
      WATCH_PID: String(process.pid),
    };
    const argv =
      this.isolation === 'mount-namespace'
        ? ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', MOUNT_AND_EXEC, 'mount-and-exec', ...[...roots].flatMap(([root, dir]) => [dir, root]), ...volumeMounts.flat(), '--', ...cmd]
        : ['sh', '-c', 'cd "$SLUICE_POD_CWD" && exec "$@"', 'exec', ...cmd];
    const stdoutFile = path.join(podDir, 'main.stdout');
    const logFile = path.join(podDir, 'main.log');
    const out = openSync(stdoutFile, 'w');
    const errFd = openSync(logFile, 'w');
    const child = spawn('bash', ['-c', POD_WATCHDOG, 'pod-watchdog', ...argv], {
      detached: true,
      stdio: ['ignore', out, errFd],
      env: procEnv,
    });
    closeSync(out);
    closeSync(errFd);
    const exited = new Promise<number>((resolve) => {
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 9) : 1)));
      child.on('error', () => resolve(127));
    });
    const grace = Math.min(pod.spec.terminationGracePeriodSeconds ?? 30, 30) * 1000;
    let deadlineMessage: string | undefined;
    let podDeadline = false;
    const kill = (why: string): void => {
      record.killed ??= why;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        return;
      }
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // gone
        }
      }, grace).unref();
    };
    onKill(kill);
    const timers: NodeJS.Timeout[] = [];
    const deadline = argoEnv.get('ARGO_DEADLINE');
    if (deadline && !deadline.startsWith('0001-')) {
      const ms = Date.parse(deadline) - Date.now();
      timers.push(setTimeout(() => ((deadlineMessage = 'Step exceeded its deadline'), kill(deadlineMessage)), Math.max(0, ms)));
    }
    if (pod.spec.activeDeadlineSeconds !== undefined) {
      timers.push(setTimeout(() => ((podDeadline = true), kill('activeDeadlineSeconds')), pod.spec.activeDeadlineSeconds * 1000));
    }
    const exitCode = await exited;
    for (const t of timers) clearTimeout(t);
    record.exitCode = exitCode;
    const mainFinished = isoNow();
    if (record.killed === 'pod deleted' || record.killed === 'executor stopped') {
      record.finishedAt = Date.now();
      return; // the pod is gone (or the run is over): nobody reads its status
    }

    // ---- wait: outputs, then the completed label
    let waitError: string | undefined;
    const outputs: Record<string, unknown> = {};
    try {
      if (argoEnv.get('ARGO_INCLUDE_SCRIPT_OUTPUT') === 'true') {
        outputs.result = readFileSync(stdoutFile, 'utf8').replace(/\n$/, '');
      }
      const params: Parameter[] = [];
      for (const p of tmpl.outputs?.parameters ?? []) {
        const copy: Parameter = { ...p };
        if (p.valueFrom?.path) {
          const f = hostPath(p.valueFrom.path);
          if (existsSync(f) && statSync(f).isFile()) copy.value = readFileSync(f, 'utf8').replace(/\n$/, '');
          else if (p.valueFrom.default !== undefined) copy.value = p.valueFrom.default.replace(/\n$/, '');
          else throw new Error(`open ${p.valueFrom.path}: no such file or directory`);
        }
        params.push(copy);
      }
      if (params.length) outputs.parameters = params;
    } catch (err) {
      waitError = (err as Error).message;
    }
    const saved: Artifact[] = [];
    const errors: string[] = [];
    for (const art of tmpl.outputs?.artifacts ?? []) {
      try {
        const s = await this.saveArtifact(ns, tmpl, art, hostPath, podDir);
        if (s) saved.push(s);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length) waitError = [waitError, ...errors].filter(Boolean).join('; ');
    if (saved.length) outputs.artifacts = saved;
    for (const [k, v] of Object.entries(tmpl.outputs ?? {})) {
      if (!['parameters', 'artifacts', 'result'].includes(k) && !(k in outputs)) outputs[k] = v;
    }
    await this.upsertTaskResult(ns, nodeId, workflow, wfUid, { outputs });
    await this.labelTaskResultCompleted(ns, nodeId);
    if (waitError !== undefined) record.waitError = waitError;
    record.finishedAt = Date.now();

    // ---- kubelet: final pod status
    const failed = exitCode !== 0 || waitError !== undefined;
    await this.patchStatus(pod, {
      phase: failed ? 'Failed' : 'Succeeded',
      ...(podDeadline ? { reason: 'DeadlineExceeded', message: `Pod was active on the node longer than the specified deadline` } : {}),
      startTime: startedAt,
      hostIP: '127.0.0.1',
      initContainerStatuses: [this.ctrStatus('init', { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: mainStarted } })],
      containerStatuses: [
        this.ctrStatus('main', {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? 'Completed' : 'Error',
            ...(deadlineMessage ? { message: deadlineMessage } : {}),
            startedAt: mainStarted,
            finishedAt: mainFinished,
          },
        }),
        this.ctrStatus('wait', {
          terminated: {
            exitCode: waitError ? 1 : 0,
            reason: waitError ? 'Error' : 'Completed',
            ...(waitError ? { message: waitError } : {}),
            startedAt: mainStarted,
            finishedAt: isoNow(),
          },
        }),
      ],
    });
    if (process.env.SLUICE_CLUSTER_KEEP_PODS !== '1') rmSync(path.join(podDir, 'fs'), { recursive: true, force: true });
  }

  private ctrStatus(name: string, state: Record<string, unknown>, ready = false): Record<string, unknown> {
    return {
      name,
      state,
      ready,
      restartCount: 0,
      image: name === 'main' ? 'main' : 'quay.io/argoproj/argoexec:v4.0.5',
      imageID: '',
      started: 'running' in state,
    };
  }

  private async patchStatus(pod: Pod, status: Record<string, unknown>): Promise<void> {
    const conditions =
      status.phase === 'Running'
        ? [{ type: 'Ready', status: 'True', lastTransitionTime: isoNow() }]
        : [{ type: 'Ready', status: 'False', lastTransitionTime: isoNow() }];
    const res = await this.o.kube.request(
      'PATCH',
      `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`,
      { status: { ...status, conditions } },
      'application/merge-patch+json',
    );
    if (res.status === 404) return; // deleted meanwhile
    if (res.status >= 300) throw new Error(`patch pod status ${pod.metadata.name}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  }

  /** The `bin` directory of the Node a stock `node:<major>` image would run, or undefined for other images and the host's own major. */
  private nodeBinFor(image: string | undefined): string | undefined {
    const major = /^(?:(?:docker\.io\/)?library\/)?node:(\d+)(?:[.-]|$)/.exec(image ?? '')?.[1];
    if (!major || major === process.versions.node.split('.')[0]) return undefined;
    const dir = this.o.nodeInstalls?.[major];
    if (!dir || !existsSync(path.join(dir, 'bin', 'node'))) throw new Error(`image ${image}: no Node ${major} on this host (the host's is ${process.version}; bash scripts/node22.sh installs Node 22)`);
    return path.join(dir, 'bin');
  }

  // ---- the agent pod (argoexec agent): http templates -------------------------------------

  /**
   * The workflow's agent pod (`argoexec agent main`): runs the `http` tasks the controller puts in
   * the WorkflowTaskSet named by the workflow, as the agent does (the request as the controller
   * rendered it; 2xx is success, the body is `outputs.result`), and writes each result into the
   * task set's status. Runs until the controller deletes the pod (the workflow ended).
   */
  private async runAgent(pod: Pod, onKill: (k: (why: string) => void) => void): Promise<void> {
    const { namespace: ns, name } = pod.metadata;
    const main = pod.spec.containers.find((c) => c.name === 'main');
    const workflow = main?.env?.find((e) => e.name === 'ARGO_WORKFLOW_NAME')?.value ?? pod.metadata.labels?.['workflows.argoproj.io/workflow'] ?? '';
    let stop = false;
    const record: PodRecord = { namespace: ns, name, uid: pod.metadata.uid, workflow, nodeId: '', template: 'agent', command: ['argoexec', 'agent', 'main'], startedAt: Date.now(), isolation: this.isolation };
    this.records.push(record);
    onKill((why) => {
      record.killed ??= why;
      stop = true;
    });
    const startedAt = isoNow();
    await this.patchStatus(pod, {
      phase: 'Running',
      startTime: startedAt,
      hostIP: '127.0.0.1',
      initContainerStatuses: [this.ctrStatus('init', { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt: startedAt } })],
      containerStatuses: [this.ctrStatus('main', { running: { startedAt } }, true)],
    });
    const taskSet = `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflowtasksets/${workflow}`;
    const done = new Set<string>();
    while (!stop && !this.stopped) {
      const ts = (await this.getObj(taskSet)) as { spec?: { tasks?: Record<string, Template & { http?: HttpTemplate }> }; status?: { nodes?: Record<string, unknown> } } | undefined;
      for (const [nodeId, tmpl] of Object.entries(ts?.spec?.tasks ?? {})) {
        if (done.has(nodeId) || ts?.status?.nodes?.[nodeId]) continue;
        done.add(nodeId);
        const result = tmpl.http ? await this.httpTask(ns, tmpl.http) : { phase: 'Failed', message: 'agent cannot execute: only http tasks are emulated' };
        this.agentRequests.push({ workflow, nodeId, ...(tmpl.http ? { http: tmpl.http } : {}), result });
        const res = await this.o.kube.request('PATCH', `${taskSet}/status`, { status: { nodes: { [nodeId]: result } } }, 'application/merge-patch+json');
        if (res.status >= 300) this.log(`host executor: agent ${name}: patch task set status: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
      }
      await sleep(300);
    }
    record.finishedAt = Date.now();
  }

  /** One http task, as argoexec's agent sends it; a Service URL goes where the Service says (see tools/README.md). */
  private async httpTask(ns: string, h: HttpTemplate): Promise<{ phase: string; message?: string; outputs?: { result: string } }> {
    if (h.successCondition) return { phase: 'Failed', message: 'successCondition is not emulated' };
    if (h.bodyFrom) return { phase: 'Failed', message: 'bodyFrom is not emulated' };
    try {
      const url = new URL(h.url);
      const svc = /^([a-z0-9-]+)\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(url.hostname);
      if (svc) {
        const service = await this.getObj(`/api/v1/namespaces/${svc[2]}/services/${svc[1]}`);
        const address = (service?.metadata as { annotations?: Record<string, string> } | undefined)?.annotations?.[SERVICE_ADDRESS_ANNOTATION];
        if (!address) throw new Error(`dial tcp: lookup ${url.hostname}: no such host (Service ${svc[2]}/${svc[1]} ${service ? `has no ${SERVICE_ADDRESS_ANNOTATION} annotation` : 'does not exist'})`);
        url.host = address;
      }
      const headers: Record<string, string> = {};
      for (const x of h.headers ?? []) {
        if (x.valueFrom?.secretKeyRef) headers[x.name] = await this.secretValue(ns, x.valueFrom.secretKeyRef);
        else headers[x.name] = x.value ?? '';
      }
      const res = await fetch(url, {
        method: h.method ?? 'GET',
        headers,
        ...(h.body !== undefined && h.method !== 'GET' && h.method !== 'HEAD' ? { body: h.body } : {}),
        ...(h.timeoutSeconds ? { signal: AbortSignal.timeout(h.timeoutSeconds * 1000) } : {}),
      });
      const body = await res.text();
      const ok = res.status >= 200 && res.status < 300;
      return { phase: ok ? 'Succeeded' : 'Failed', ...(ok ? {} : { message: `received non-2xx response code: ${res.status}` }), outputs: { result: body } };
    } catch (err) {
      return { phase: 'Failed', message: (err as Error).message };
    }
  }

  // ---- environment (kubelet) -------------------------------------------------------------

  private async containerEnv(pod: Pod, c: Container): Promise<Map<string, string>> {
    const env = new Map<string, string>();
    for (const e of c.env ?? []) {
      let v: string | undefined;
      if (e.valueFrom?.secretKeyRef) {
        const s = await this.getObj(`/api/v1/namespaces/${pod.metadata.namespace}/secrets/${e.valueFrom.secretKeyRef.name}`);
        const raw = (s?.data as Record<string, string> | undefined)?.[e.valueFrom.secretKeyRef.key];
        if (raw === undefined && !e.valueFrom.secretKeyRef.optional) throw new Error(`secret ${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key} not found`);
        v = raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
      } else if (e.valueFrom?.configMapKeyRef) {
        const cm = await this.getObj(`/api/v1/namespaces/${pod.metadata.namespace}/configmaps/${e.valueFrom.configMapKeyRef.name}`);
        v = (cm?.data as Record<string, string> | undefined)?.[e.valueFrom.configMapKeyRef.key];
      } else if (e.valueFrom?.fieldRef) {
        v = fieldRef(pod, e.valueFrom.fieldRef.fieldPath);
      } else {
        // The kubelet expands $(VAR) in env values against the variables declared before it.
        v = expandK8s(e.value ?? '', (k) => env.get(k));
      }
      if (v !== undefined) env.set(e.name, v);
    }
    return env;
  }

  private async getObj(p: string): Promise<Record<string, unknown> | undefined> {
    const res = await this.o.kube.request('GET', p);
    return res.status === 200 ? (res.body as Record<string, unknown>) : undefined;
  }

  // ---- artifacts (argoexec init / wait) ---------------------------------------------------

  /** The full S3 location of an artifact: its own fields, the rest from the archive location (key-only artifacts). */
  private location(tmpl: Template, art: Artifact): S3Loc {
    const base = tmpl.archiveLocation?.s3 ?? {};
    const own = art.s3 ?? {};
    const loc: S3Loc = { ...base, ...own };
    if (own.key === undefined) delete loc.key;
    return loc;
  }

  private async clientFor(ns: string, loc: S3Loc): Promise<Minio.Client> {
    const ak = loc.accessKeySecret ? await this.secretValue(ns, loc.accessKeySecret) : this.o.s3.accessKey;
    const sk = loc.secretKeySecret ? await this.secretValue(ns, loc.secretKeySecret) : this.o.s3.secretKey;
    const endpoint = loc.endpoint ?? this.o.s3.endpoint;
    const id = `${endpoint}|${ak}`;
    let c = this.s3Clients.get(id);
    if (!c) {
      c = s3Client({ ...this.o.s3, endpoint, accessKey: ak, secretKey: sk });
      this.s3Clients.set(id, c);
    }
    return c;
  }

  private async secretValue(ns: string, ref: { name: string; key: string }): Promise<string> {
    const s = await this.getObj(`/api/v1/namespaces/${ns}/secrets/${ref.name}`);
    const raw = (s?.data as Record<string, string> | undefined)?.[ref.key];
    if (raw === undefined) throw new Error(`secret "${ref.name}" key "${ref.key}" not found in namespace ${ns}`);
    return Buffer.from(raw, 'base64').toString('utf8');
  }

  private async loadArtifact(ns: string, tmpl: Template, art: Artifact, hostPath: (p: string) => string, podDir: string): Promise<void> {
    if (!art.path) throw new Error(`input artifact ${art.name} has no path`);
    const dest = hostPath(art.path);
    mkdirSync(path.dirname(dest), { recursive: true });
    if (art.raw) {
      writeFileSync(dest, art.raw.data);
      return;
    }
    if (!art.s3?.key) {
      if (art.optional) return;
      const other = Object.keys(art).filter((k) => !['name', 'path', 'optional', 'mode', 'archive', 'from', 'fromExpression', 'globalName', 'deleted', 'recurseMode', 'subPath', 'artifactGC'].includes(k));
      if (other.length) throw new Error(`artifact ${art.name}: only s3 and raw locations are emulated (got ${other.join(', ')})`);
      throw new Error(`required artifact '${art.name}' not supplied`);
    }
    const loc = this.location(tmpl, art);
    const client = await this.clientFor(ns, loc);
    const bucket = loc.bucket ?? this.o.s3.bucket;
    let data: Buffer;
    try {
      data = await getObject(client, bucket, loc.key!);
    } catch (err) {
      const notFound = (err as { code?: string }).code === 'NoSuchKey' || /NoSuchKey|Not Found/i.test(String((err as Error).message));
      if (!notFound) throw new Error(`artifact ${art.name} failed to load: s3://${bucket}/${loc.key}: ${(err as Error).message}`);
      // Argo's S3 driver: no such key, but objects under key/ -> a directory of them (fan-in).
      const prefix = `${loc.key!.replace(/\/$/, '')}/`;
      const keys = await listKeys(client, bucket, prefix);
      if (keys.length === 0) {
        if (art.optional) return;
        throw new Error(`artifact ${art.name} failed to load: s3://${bucket}/${loc.key}: NoSuchKey`);
      }
      mkdirSync(dest, { recursive: true });
      for (const k of keys) {
        const f = path.join(dest, k.slice(prefix.length));
        mkdirSync(path.dirname(f), { recursive: true });
        writeFileSync(f, await getObject(client, bucket, k));
      }
      return;
    }
    const tmp = `${dest}.tmp`;
    writeFileSync(tmp, data);
    const isTar = art.archive?.none ? false : art.archive?.tar ? true : isTarGz(data);
    if (art.archive?.zip) throw new Error(`artifact ${art.name}: zip archives are not emulated`);
    if (!isTar) {
      renameSync(tmp, dest);
      return;
    }
    // Argo's untar: unpack into a scratch dir; a single entry becomes the path itself.
    const scratch = path.join(podDir, `untar-${art.name}`);
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const r = spawnSync('tar', ['-xzf', tmp, '-C', scratch], { encoding: 'utf8' });
    rmSync(tmp, { force: true });
    if (r.status !== 0) throw new Error(`artifact ${art.name}: untar failed: ${r.stderr}`);
    const entries = readdirSync(scratch);
    if (entries.length === 1) renameSync(path.join(scratch, entries[0]!), dest);
    else renameSync(scratch, dest);
    rmSync(scratch, { recursive: true, force: true });
  }

  private async saveArtifact(ns: string, tmpl: Template, art: Artifact, hostPath: (p: string) => string, podDir: string): Promise<Artifact | undefined> {
    if (!art.path) return undefined;
    const src = hostPath(art.path);
    if (!existsSync(src)) {
      if (art.optional) return undefined;
      throw new Error(`${art.path} no such file or directory`);
    }
    const none = art.archive?.none !== undefined;
    if (art.archive?.zip) throw new Error(`artifact ${art.name}: zip archives are not emulated`);
    let fileName: string;
    let body: Buffer;
    if (none && statSync(src).isDirectory()) {
      // Argo's S3 driver (PutDirectory): every file of the directory under <key>/<relative path>.
      const archive = tmpl.archiveLocation?.s3;
      const key = art.s3?.key ?? (archive?.key ? path.posix.join(archive.key, path.posix.basename(art.path)) : undefined);
      if (!key) throw new Error(`artifact ${art.name}: no archive location (no artifact repository configured)`);
      const loc: S3Loc = { ...archive, ...(art.s3 ?? {}), key };
      const client = await this.clientFor(ns, loc);
      for (const rel of filesUnder(src)) await client.putObject(loc.bucket ?? this.o.s3.bucket, path.posix.join(key, rel), readFileSync(path.join(src, rel)));
      return { ...art, s3: loc };
    }
    if (none) {
      fileName = path.posix.basename(art.path);
      body = readFileSync(src);
    } else {
      fileName = `${art.name}.tgz`;
      const tgz = path.join(podDir, fileName);
      const level = art.archive?.tar?.compressionLevel;
      const r = spawnSync('sh', ['-c', `tar -cf - -C "$1" "$2" | gzip -${level === undefined ? 6 : Math.max(1, Math.min(9, level))} > "$3"`, 'tar', path.dirname(src), path.basename(src), tgz], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`artifact ${art.name}: tar failed: ${r.stderr}`);
      body = readFileSync(tgz);
      rmSync(tgz, { force: true });
    }
    const archive = tmpl.archiveLocation?.s3;
    if (!art.s3?.key && !archive?.key) throw new Error(`artifact ${art.name}: no archive location (no artifact repository configured)`);
    const key = art.s3?.key ?? path.posix.join(archive!.key!, fileName);
    const loc: S3Loc = { ...archive, ...(art.s3 ?? {}), key };
    const client = await this.clientFor(ns, loc);
    await client.putObject(loc.bucket ?? this.o.s3.bucket, key, body);
    const reported: Artifact = { ...art, s3: loc };
    return reported;
  }

  // ---- WorkflowTaskResult (argoexec wait) ------------------------------------------------

  private async upsertTaskResult(ns: string, nodeId: string, workflow: string, wfUid: string, result: Record<string, unknown>): Promise<void> {
    const base = `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflowtaskresults`;
    const res = await this.o.kube.request('PATCH', `${base}/${nodeId}`, result, 'application/merge-patch+json');
    if (res.status === 200) return;
    if (res.status !== 404) throw new Error(`patch task result ${nodeId}: HTTP ${res.status}: ${JSON.stringify(res.body)}`);
    const created = await this.o.kube.request('POST', base, {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'WorkflowTaskResult',
      metadata: {
        name: nodeId,
        labels: { 'workflows.argoproj.io/workflow': workflow, 'workflows.argoproj.io/report-outputs-completed': 'false' },
        ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', name: workflow, uid: wfUid }],
      },
      ...result,
    });
    if (created.status === 409) return this.upsertTaskResult(ns, nodeId, workflow, wfUid, result);
    if (created.status >= 300) throw new Error(`create task result ${nodeId}: HTTP ${created.status}: ${JSON.stringify(created.body)}`);
  }

  private async labelTaskResultCompleted(ns: string, nodeId: string): Promise<void> {
    const res = await this.o.kube.request(
      'PATCH',
      `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflowtaskresults/${nodeId}`,
      { metadata: { labels: { 'workflows.argoproj.io/report-outputs-completed': 'true' } } },
      'application/merge-patch+json',
    );
    if (res.status >= 300) throw new Error(`label task result ${nodeId}: HTTP ${res.status}`);
  }
}

function isTarGz(b: Buffer): boolean {
  if (b.length < 2 || b[0] !== 0x1f || b[1] !== 0x8b) return false;
  const r = spawnSync('tar', ['-tzf', '-'], { input: b, stdio: ['pipe', 'ignore', 'ignore'] });
  return r.status === 0;
}

/** The files under `dir`, as relative POSIX paths (sorted). */
function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

function fieldRef(pod: Pod, p: string): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(p);
  if (m) return (pod.metadata[m[1] as 'labels' | 'annotations'] ?? {})[m[2]!];
  switch (p) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.nodeName':
      return pod.spec.nodeName;
    case 'status.hostIP':
    case 'status.podIP':
      return '127.0.0.1';
    default:
      return undefined;
  }
}

function signalNumber(s: NodeJS.Signals): number | undefined {
  return ({ SIGTERM: 15, SIGKILL: 9, SIGINT: 2, SIGHUP: 1 } as Record<string, number>)[s];
}
