// A throwaway Kubernetes control plane for tests: etcd and kube-apiserver built by
// tools/setup.sh, on random 127.0.0.1 ports, with a temporary data directory and credentials.
// Each server runs in its own process group under a small shell watchdog that kills the group
// when the Node process that started it disappears, so nothing outlives the test run even if
// vitest itself is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readManifests } from '../manifests.ts';
import { KubeClient, KubeError, type KubeConnection } from './client.ts';

export interface StartOptions {
  /** Folder holding kube-apiserver and etcd (tools/.bin). */
  binDir: string;
  /** CRD manifests (*.yaml, one CRD each) to install with server-side apply. */
  crdDir?: string;
  /** Namespace to create for the tests. @default 'sluice-oracle' */
  namespace?: string;
  versions?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Cluster {
  readonly conn: KubeConnection;
  readonly client: KubeClient;
  /** Seconds each phase took (etcd, apiserver, crds), for the README's figures. */
  readonly timings: Record<string, number>;
  /** Process group ids of etcd and kube-apiserver (each under its watchdog). */
  readonly pgids: number[];
  /** Scratch directory (data, credentials, logs); removed by stop(). */
  readonly tmpDir: string;
  /** Kills both process groups and removes the temporary directory. Safe to call twice. */
  stop(): Promise<void>;
}

const LOOPBACK = '127.0.0.1';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, LOOPBACK, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

// Runs "$@" as a child; if the Node process (WATCH_PID, the watchdog's parent) goes away, kills
// the whole group and removes the scratch directory. On TERM it stops the child and waits.
// "Gone" is checked by the parent pid in /proc as well, so a reused pid does not fool it.
export const WATCHDOG = `
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM INT
parent_alive() {
  kill -0 "$WATCH_PID" 2>/dev/null || return 1
  [ -r /proc/$$/stat ] || return 0
  local s; read -r s < /proc/$$/stat; s=\${s##*) }; set -- $s
  [ "$2" = "$WATCH_PID" ]
}
while kill -0 "$child" 2>/dev/null; do
  if ! parent_alive; then
    kill -KILL "$child" 2>/dev/null; rm -rf "$WATCH_TMP"; kill -KILL 0
  fi
  sleep 1 & wait $!
done
wait "$child"
`;

export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

const live = new Set<Proc>();
let exitHookInstalled = false;

function killGroup(p: Proc, signal: NodeJS.Signals): void {
  if (p.child.pid === undefined) return;
  try {
    process.kill(-p.child.pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort if stop() was never reached: 'exit' handlers must be synchronous.
  process.on('exit', () => {
    for (const p of live) killGroup(p, 'SIGKILL');
  });
}

export function startProcess(name: string, tmp: string, bin: string, args: string[], env: Record<string, string> = {}): Proc {
  const logFile = path.join(tmp, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const child = spawn('bash', ['-c', WATCHDOG, 'watchdog', bin, ...args], {
    detached: true, // own process group, killed as one
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env, WATCH_PID: String(process.pid), WATCH_TMP: tmp },
  });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const p: Proc = { name, child, logFile, exited };
  live.add(p);
  void exited.then(() => live.delete(p));
  installExitHook();
  return p;
}

export async function stopProcess(p: Proc): Promise<void> {
  killGroup(p, 'SIGTERM');
  const done = await Promise.race([p.exited.then(() => true), sleep(10_000).then(() => false)]);
  // The group may hold more than the watched child: always finish it off.
  killGroup(p, 'SIGKILL');
  if (!done) await Promise.race([p.exited, sleep(5_000)]);
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function waitFor(
  what: string,
  proc: Proc,
  timeoutMs: number,
  probe: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (;;) {
    if (exited) throw new Error(`${proc.name} exited while waiting for ${what}:\n${tail(proc.logFile)}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}:\n${tail(proc.logFile)}`);
    }
    await sleep(250);
  }
}

/**
 * Starts etcd and kube-apiserver on 127.0.0.1, installs the CRDs and creates a namespace.
 *
 * @example
 *   const cluster = await startCluster({ binDir: 'tools/.bin', crdDir: '../shared/argo/crds' });
 *   try { ... cluster.client.dryRunCreate(obj) ... } finally { await cluster.stop(); }
 */
export async function startCluster(opts: StartOptions): Promise<Cluster> {
  const log = opts.log ?? (() => {});
  const namespace = opts.namespace ?? 'sluice-oracle';
  const tmp = mkdtempSync(path.join(tmpdir(), 'sluice-kube-'));
  const procs: Proc[] = [];
  const timings: Record<string, number> = {};
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // API server first, so it does not spin on a vanished etcd.
    for (const p of [...procs].reverse()) await stopProcess(p);
    rmSync(tmp, { recursive: true, force: true });
  };

  try {
    let t0 = Date.now();
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcdUrl = `http://${LOOPBACK}:${etcdPort}`;
    const peerUrl = `http://${LOOPBACK}:${peerPort}`;
    const etcd = startProcess('etcd', tmp, path.join(opts.binDir, 'etcd'), [
      '--name=sluice',
      `--data-dir=${path.join(tmp, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=sluice=${peerUrl}`,
      '--initial-cluster-state=new',
      '--unsafe-no-fsync', // a throwaway store: durability buys nothing here
      '--log-level=warn',
    ]);
    procs.push(etcd);
    await waitFor('etcd /health', etcd, 30_000, async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    });
    timings.etcd = (Date.now() - t0) / 1000;
    log(`etcd ready on ${etcdUrl} in ${timings.etcd}s`);

    t0 = Date.now();
    const token = randomBytes(24).toString('hex');
    const tokenFile = path.join(tmp, 'tokens.csv');
    writeFileSync(tokenFile, `${token},sluice-admin,sluice-admin,"system:masters"\n`, { mode: 0o600 });
    const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(tmp, 'sa.key');
    const saPub = path.join(tmp, 'sa.pub');
    writeFileSync(saKey, sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(saPub, sa.publicKey.export({ type: 'spki', format: 'pem' }));
    const certDir = path.join(tmp, 'certs');
    const server = `https://${LOOPBACK}:${apiPort}`;
    const api = startProcess('kube-apiserver', tmp, path.join(opts.binDir, 'kube-apiserver'), [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${LOOPBACK}`,
      `--advertise-address=${LOOPBACK}`,
      `--secure-port=${apiPort}`,
      `--cert-dir=${certDir}`, // self-signed serving cert for 127.0.0.1 / localhost
      `--token-auth-file=${tokenFile}`,
      '--anonymous-auth=false',
      '--authorization-mode=RBAC',
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      // Service IPs are only allocated in the API (no proxy runs), but keep even those loopback.
      '--service-cluster-ip-range=127.100.0.0/16',
      // No endpoint for the `kubernetes` Service: Endpoints may not hold a loopback address.
      '--endpoint-reconciler-type=none',
      '--allow-privileged=true',
      '--profiling=false',
      '--v=0',
    ]);
    procs.push(api);
    const caFile = path.join(certDir, 'apiserver.crt');
    let client: KubeClient | undefined;
    await waitFor('kube-apiserver /readyz', api, 120_000, async () => {
      if (!existsSync(caFile)) return false;
      client ??= new KubeClient({
        server,
        token,
        ca: readFileSync(caFile, 'utf8'),
        namespace,
        kubeconfig: '',
        versions: {},
      });
      const res = await client.request('GET', '/readyz');
      return res.status === 200;
    });
    const ca = readFileSync(caFile, 'utf8');
    const kubeconfig = path.join(tmp, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'sluice', cluster: { server, 'certificate-authority-data': Buffer.from(ca).toString('base64') } }],
        users: [{ name: 'sluice-admin', user: { token } }],
        contexts: [{ name: 'sluice', context: { cluster: 'sluice', user: 'sluice-admin', namespace } }],
        'current-context': 'sluice',
      }),
      { mode: 0o600 },
    );
    const conn: KubeConnection = { server, token, ca, namespace, kubeconfig, versions: opts.versions ?? {} };
    client = new KubeClient(conn);
    timings.apiserver = (Date.now() - t0) / 1000;
    log(`kube-apiserver ready on ${server} in ${timings.apiserver}s`);

    await client.ok('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });

    if (opts.crdDir) {
      t0 = Date.now();
      await installCrds(client, opts.crdDir);
      timings.crds = (Date.now() - t0) / 1000;
      log(`CRDs from ${opts.crdDir} established in ${timings.crds}s`);
    }
    const pgids = procs.map((p) => p.child.pid).filter((pid): pid is number => pid !== undefined);
    return { conn, client, timings, pgids, tmpDir: tmp, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface Crd {
  metadata: { name: string };
  spec: { group: string; names: { plural: string }; versions: { name: string; served: boolean }[] };
}

/**
 * Server-side applies every CRD in dir (one per file) and waits until the server serves each.
 */
export async function installCrds(client: KubeClient, dir: string): Promise<string[]> {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  const crds = files.flatMap((f) => readManifests(path.join(dir, f)).map((m) => m.object as unknown as Crd));
  // All at once: the server digests the large schemas concurrently (several times faster than
  // one by one on two cores). Sent as JSON, which the server parses much faster than YAML.
  // Server-side apply keeps no last-applied annotation, which the largest Argo CRDs would overflow.
  // On a loaded machine the server may time out (504) digesting them: apply is idempotent, so retry.
  const applyOne = async (crd: Crd): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.ok(
          'PATCH',
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}?fieldManager=sluice-oracles&force=true`,
          crd,
          'application/apply-patch+yaml',
        );
        return;
      } catch (err) {
        if (attempt >= 4 || !(err instanceof KubeError) || err.status < 500) throw err;
        await sleep(2_000 * attempt);
      }
    }
  };
  await Promise.all(crds.map(applyOne));
  // Discovery lists a CRD's resource only once the CRD is Established; polling it is far
  // cheaper than re-reading megabyte-sized CRD objects.
  const want = new Map<string, Set<string>>();
  for (const crd of crds) {
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      const gv = `/apis/${crd.spec.group}/${v.name}`;
      want.set(gv, (want.get(gv) ?? new Set()).add(crd.spec.names.plural));
    }
  }
  const deadline = Date.now() + 120_000;
  for (const [gv, plurals] of want) {
    for (;;) {
      const res = await client.request('GET', gv);
      const served = new Set(
        ((res.body as { resources?: { name: string }[] } | undefined)?.resources ?? []).map((r) => r.name),
      );
      const missing = [...plurals].filter((p) => !served.has(p));
      if (res.status === 200 && missing.length === 0) break;
      if (Date.now() > deadline) throw new Error(`CRDs from ${dir}: ${gv} does not serve ${missing.join(', ')} after 120s`);
      await sleep(200);
    }
  }
  client.resetDiscovery();
  return crds.map((c) => c.metadata.name);
}
