/**
 * Cluster: Sluice's cluster client on the test cluster of tools/ (Argo's workflow-controller v4.0.5,
 * a kwok node, moto S3, the host executor), against a baseline client of the same API server, in the
 * same run, alternating, each client a fresh process.
 *
 * 1. Submit to first pod, and per task, of a `--tasks` (100) container-step fan-out
 *    (tools/test/fixtures/cluster/parity.ts `fanout`): `sluice submit --watch` (bundle, compile,
 *    server-side dry runs, create, follow to the end) against `kubectl create -f` of the very
 *    Workflow that submit created, then `kubectl wait` for its end. Both find the bundle ConfigMap
 *    and the content-named WorkflowTemplate already there (a warm-up submit made them), as a second
 *    `sluice submit` does. First pod: the first pod of the new workflow seen by this process's own
 *    watch of pods; per task: (workflow finished - first pod) / tasks.
 * 2. Watch cost of a `--nodes` (1,000) node Workflow: a synthetic status, shaped after the real
 *    fan-out's nodes (each iteration's subtree copied with its name and Argo node id), written to an
 *    API server namespace no controller manages and updated `--updates` times through the API server
 *    (each update: some pods and their iteration DAGs Succeeded; the last: the workflow too). Two
 *    shapes: `status.nodes` as a workflow under 1 MiB is stored, and `status.compressedNodes` (gzip +
 *    base64 of the same nodes) as the controller stores one over 1 MiB (MAX_WORKFLOW_SIZE; the 1,000-
 *    task fan-out is). Followers: `sluice watch <run> --json`, a plain watch-stream reader
 *    (bench/cluster-watch-reader.mjs: list, watch, JSON.parse per event) and `kubectl wait
 *    --for=jsonpath`. Bytes: what the API server sent the follower, counted by a TCP proxy in front of
 *    it; CPU: the follower's user+system time (bash `times`). Per update: (run with all updates - run
 *    with only the last) / (updates - 1), which takes out start-up and the initial list.
 *
 *   pnpm tsx bench/cluster.bench.ts [--reps 3] [--tasks 100] [--nodes 1000] [--updates 40] [--shapes nodes,compressed] [--skip-submit] [--skip-watch]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createConnection, createServer, type Server } from 'node:net';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { KubeClient, type KubeConnection } from '../tools/test/support/kube/client.ts';
import { startCluster } from '../tools/test/support/kube/cluster.ts';
import { binDir, missingBinary, missingSharedArgo, pinnedVersion, repoRoot, sharedArgo } from '../tools/test/support/paths.ts';
import { missingClusterParts, startHarness } from '../tools/test/support/cluster/harness.ts';
import { waitForWorkflow, type WfNode, type Workflow } from '../tools/test/support/cluster/workflows.ts';
import { argoNodeId } from '../packages/cluster/src/nodes.ts';

const args = process.argv.slice(2);
const opt = (name: string, d: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : d);
const reps = opt('--reps', 3);
const tasks = opt('--tasks', 100);
const nodeCount = opt('--nodes', 1000);
const updates = opt('--updates', 40);
const work = path.join(repoRoot, 'bench', '.tmp', 'cluster');
mkdirSync(work, { recursive: true });
const sluiceBin = path.join(repoRoot, 'packages/runner/bin/sluice.mjs');
const FIXTURE = 'tools/test/fixtures/cluster/parity.ts';
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const lines: string[] = [];
const say = (l: string): void => {
  console.log(l);
  lines.push(l);
};

const missing = missingBinary('kube-apiserver') ?? missingBinary('etcd') ?? missingSharedArgo() ?? missingClusterParts();
if (missing) throw new Error(missing);

/** Runs a command; resolves with its wall time, exit code, output and (through bash `times`) its CPU seconds. */
function timed(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ ms: number; code: number | null; out: string; cpu: number }> {
  const t0 = performance.now();
  // `times` prints the shell's, then its children's user and system time
  const child = spawn('bash', ['-c', '"$@" > "$OUT" 2>&1; code=$?; times > "$OUT.times"; exit $code', 'timed', ...argv], { cwd: repoRoot, env: { ...env, OUT: path.join(work, `out-${process.pid}`) }, stdio: 'ignore' });
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      const out = readFileSync(path.join(work, `out-${process.pid}`), 'utf8');
      const t = readFileSync(path.join(work, `out-${process.pid}.times`), 'utf8').trim().split('\n')[1] ?? '';
      const cpu = [...t.matchAll(/(\d+)m([\d.]+)s/g)].reduce((s, m) => s + Number(m[1]) * 60 + Number(m[2]), 0);
      resolve({ ms, code, out, cpu });
    });
  });
}

/** Lines of a watch stream, until `stop`. */
function watch(conn: KubeConnection, p: string, onLine: (line: string) => boolean | void): { done: Promise<void>; stop: () => void } {
  let req: ReturnType<typeof request> | undefined;
  const done = new Promise<void>((resolve) => {
    req = request(new URL(p, conn.server), { ca: conn.ca, headers: { authorization: `Bearer ${conn.token}`, accept: 'application/json' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line && onLine(line) === true) {
            res.destroy();
            resolve();
            return;
          }
        }
      });
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
  return { done, stop: () => req?.destroy() };
}

const cluster = await startCluster({ binDir, crdDir: path.join(sharedArgo, 'crds'), versions: { kubernetes: pinnedVersion('kube'), etcd: pinnedVersion('etcd') }, log: (l) => console.log(`[cluster] ${l}`) });
let harness: Awaited<ReturnType<typeof startHarness>> | undefined;
let proxy: Server | undefined;
try {
  harness = await startHarness({ kube: cluster.conn, tmpDir: cluster.tmpDir, log: (l) => console.log(`[cluster] ${l}`) });
  const conn = cluster.conn;
  const kube = new KubeClient(conn);
  const ns = harness.conn.namespace;
  const kc = ['--kubeconfig', conn.kubeconfig, '--namespace', ns];
  const started = new Date().toISOString();
  say(`machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB; node ${process.version}; kube-apiserver ${conn.versions.kubernetes ?? ''}; Argo workflow-controller ${pinnedVersion('argo')}; host executor ${harness.conn.isolation}, ${process.env.SLUICE_CLUSTER_PODS ?? 4} pods at once; ${started}`);

  // ---- 1. submit to first pod, per task -------------------------------------------------
  let realWorkflow: Workflow | undefined;
  if (!args.includes('--skip-submit')) {
    const env = { ...process.env, SLUICE_CLUSTER_FANOUT: String(tasks), NO_COLOR: '1' };
    const warm = await timed([process.execPath, sluiceBin, 'submit', FIXTURE, '--export', 'fanout', '--json', ...kc], env);
    if (warm.code !== 0) throw new Error(`warm-up submit failed:\n${warm.out}`);
    const warmName = (JSON.parse(warm.out.split('\n')[0]!) as { workflow: string }).workflow;
    realWorkflow = await waitForWorkflow(kube, ns, warmName, 1_200_000);
    if (realWorkflow.status?.phase !== 'Succeeded') throw new Error(`warm-up run ${warmName}: ${realWorkflow.status?.phase}`);
    const created = (await kube.ok('GET', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflows/${warmName}`)) as Workflow & { metadata: Record<string, unknown> };
    // what submit sent, without what the controller added (its own labels: `completed: "true"` would hide it from the controller)
    const own = (m: Record<string, string> | undefined): Record<string, string> => Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => !k.startsWith('workflows.argoproj.io/')));
    const manifest = { apiVersion: created.apiVersion, kind: created.kind, metadata: { generateName: created.metadata.generateName, labels: own(created.metadata.labels), annotations: own(created.metadata.annotations as Record<string, string>) }, spec: created.spec };
    const manifestFile = path.join(work, 'workflow.json');
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const seen = new Set<string>([warmName]);

    const one = async (client: 'sluice' | 'kubectl'): Promise<{ client: number; firstPod: number; perTask: number; total: number }> => {
      // the fan-out's steps are memoized: without its cache every run has pods to create, for both clients
      const caches = (await kube.ok('GET', `/api/v1/namespaces/${ns}/configmaps`)) as { items: { metadata: { name: string } }[] };
      for (const cm of caches.items) if (cm.metadata.name.startsWith('sluice-cache-')) await kube.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/${cm.metadata.name}`);
      const rv = String(((await kube.ok('GET', `/api/v1/namespaces/${ns}/pods?limit=1`)) as { metadata: { resourceVersion: string } }).metadata.resourceVersion);
      let firstPodAt = 0;
      let name = '';
      const t0 = performance.now();
      const w = watch(conn, `/api/v1/namespaces/${ns}/pods?watch=1&resourceVersion=${rv}`, (line) => {
        const ev = JSON.parse(line) as { type: string; object: { metadata: { labels?: Record<string, string> } } };
        const wf = ev.object.metadata.labels?.['workflows.argoproj.io/workflow'];
        if (ev.type === 'ADDED' && wf && !seen.has(wf)) {
          firstPodAt = performance.now();
          name = wf;
          return true;
        }
      });
      const r = client === 'sluice'
        ? timed([process.execPath, sluiceBin, 'submit', FIXTURE, '--export', 'fanout', '--watch', '--json', ...kc], env)
        : timed(['bash', '-c', 'set -e; n=$(kubectl create -f "$1" -o name --kubeconfig "$2" -n "$3"); kubectl wait --for=jsonpath={.status.phase}=Succeeded --timeout=1200s "$n" --kubeconfig "$2" -n "$3" > /dev/null', 'kc', manifestFile, conn.kubeconfig, ns], env);
      await w.done;
      const res = await r;
      if (res.code !== 0) throw new Error(`${client} exited ${res.code}:\n${res.out.slice(-2000)}`);
      seen.add(name);
      const done = await waitForWorkflow(kube, ns, name, 1_200_000);
      if (done.status?.phase !== 'Succeeded') throw new Error(`${client} run ${name}: ${done.status?.phase}`);
      const end = performance.now();
      return { client: res.ms, firstPod: firstPodAt - t0, perTask: (end - firstPodAt) / tasks, total: end - t0 };
    };
    const rows: Record<string, { firstPod: number[]; perTask: number[]; total: number[] }> = { sluice: { firstPod: [], perTask: [], total: [] }, kubectl: { firstPod: [], perTask: [], total: [] } };
    const loads: string[] = [load()];
    for (let i = 0; i < reps; i++) {
      for (const c of (i % 2 === 0 ? ['sluice', 'kubectl'] : ['kubectl', 'sluice']) as ('sluice' | 'kubectl')[]) {
        const m = await one(c);
        rows[c]!.firstPod.push(m.firstPod);
        rows[c]!.perTask.push(m.perTask);
        rows[c]!.total.push(m.total);
        console.log(`[bench] ${c} rep ${i + 1}: first pod ${(m.firstPod / 1000).toFixed(2)} s, ${m.perTask.toFixed(0)} ms per task, ${(m.total / 1000).toFixed(1)} s in all (load ${load()})`);
      }
      loads.push(load());
    }
    say('');
    say(`submit to first pod and per task, ${tasks}-task fan-out, ${reps} runs each, alternating (load average during: ${loads.join(' | ')})`);
    say('| client | submit to first pod (median, min-max) | per task (median) | submit to end (median) |');
    say('| --- | --- | --- | --- |');
    for (const [c, label] of [['sluice', '`sluice submit --watch` (bundle, compile, dry runs, create, follow)'], ['kubectl', '`kubectl create -f` of the same Workflow + `kubectl wait`']] as const) {
      const r = rows[c]!;
      say(`| ${label} | ${(median(r.firstPod) / 1000).toFixed(2)} s (${(Math.min(...r.firstPod) / 1000).toFixed(2)}-${(Math.max(...r.firstPod) / 1000).toFixed(2)}) | ${median(r.perTask).toFixed(0)} ms | ${(median(r.total) / 1000).toFixed(1)} s |`);
    }
  }

  // ---- 2. watch cost of a 1,000-node workflow ------------------------------------------
  if (!args.includes('--skip-watch')) {
    const wns = 'sluice-bench-watch';
    await kube.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: wns } });
    // the node status of a real run (the warm-up above, or a small one now) scaled to nodeCount nodes
    const model = realWorkflow ?? (await smallRun());
    async function smallRun(): Promise<Workflow> {
      const env = { ...process.env, SLUICE_CLUSTER_FANOUT: '4', NO_COLOR: '1' };
      const r = await timed([process.execPath, sluiceBin, 'submit', FIXTURE, '--export', 'fanout', '--json', ...kc], env);
      if (r.code !== 0) throw new Error(r.out);
      return waitForWorkflow(kube, ns, (JSON.parse(r.out.split('\n')[0]!) as { workflow: string }).workflow, 600_000);
    }
    const { nodes: finalNodes, pods } = scaleNodes(model, 'bench-watch-run', nodeCount);
    const modelWf = (await kube.ok('GET', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflows/${model.metadata.name}`)) as Workflow & { metadata: Record<string, unknown>; status: Record<string, unknown> };

    // a TCP proxy in front of the API server that counts what it sends to each follower
    let fromServer = 0;
    const target = new URL(conn.server);
    proxy = createServer((client) => {
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      client.pipe(upstream);
      upstream.on('data', (d: Buffer) => (fromServer += d.length));
      upstream.pipe(client);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end);
      upstream.on('error', end);
      client.on('close', end);
      upstream.on('close', end);
    });
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
    const proxied = path.join(work, 'kubeconfig-proxy');
    const kcJson = JSON.parse(readFileSync(conn.kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[]; contexts: { context: { namespace?: string } }[] };
    kcJson.clusters[0]!.cluster.server = `https://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    kcJson.contexts[0]!.context.namespace = wns;
    writeFileSync(proxied, JSON.stringify(kcJson), { mode: 0o600 });

    const base = `/apis/argoproj.io/v1alpha1/namespaces/${wns}/workflows`;
    /** The status after `k` of the updates (0: all pending; updates: all done). */
    const statusAt = (k: number, total: number, compressed: boolean): Record<string, unknown> => {
      const done = Math.floor((pods.length * k) / total);
      const nodes: Record<string, WfNode> = structuredClone(finalNodes);
      for (const [i, ids] of pods.entries()) {
        if (i < done) continue;
        for (const id of ids) {
          const n = nodes[id]!;
          n.phase = n.type === 'Pod' ? 'Pending' : 'Running';
          delete n.finishedAt;
          delete n.outputs;
        }
      }
      const finished = k === total;
      const root = nodes['bench-watch-run']!;
      root.phase = finished ? 'Succeeded' : 'Running';
      const status: Record<string, unknown> = { ...modelWf.status, phase: finished ? 'Succeeded' : 'Running', progress: `${done}/${pods.length}` };
      delete status.nodes;
      delete status.compressedNodes;
      if (!finished) delete status.finishedAt;
      if (compressed) status.compressedNodes = gzipSync(Buffer.from(JSON.stringify(nodes))).toString('base64');
      else status.nodes = nodes;
      return status;
    };
    const objectBytes: Record<string, number> = {};
    const follow = async (who: string, shape: 'nodes' | 'compressed', n: number): Promise<{ bytes: number; cpu: number }> => {
      const name = 'bench-watch-run';
      await kube.request('DELETE', `${base}/${name}`);
      for (let i = 0; i < 100 && (await kube.request('GET', `${base}/${name}`)).status !== 404; i++) await sleep(100);
      const obj = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Workflow', metadata: { name, namespace: wns, labels: modelWf.metadata.labels as Record<string, string>, annotations: modelWf.metadata.annotations as Record<string, string> }, spec: modelWf.spec, status: statusAt(0, n, shape === 'compressed') };
      objectBytes[shape] = Buffer.byteLength(JSON.stringify(obj));
      await kube.ok('POST', base, obj);
      fromServer = 0;
      const argv =
        who === 'sluice' ? [process.execPath, sluiceBin, 'watch', name, '--json', '--kubeconfig', proxied, '--namespace', wns]
        : who === 'reader' ? [process.execPath, path.join(repoRoot, 'bench/cluster-watch-reader.mjs'), proxied, wns, name]
        : ['kubectl', 'wait', '--for=jsonpath={.status.phase}=Succeeded', `workflows.argoproj.io/${name}`, '--timeout=600s', '--kubeconfig', proxied, '-n', wns];
      const r = timed(argv);
      // updates start once the follower has its first copy (the list or the watch's first event)
      for (let i = 0; i < 600 && fromServer < objectBytes[shape]! * (shape === 'compressed' ? 0.9 : 0.5); i++) await sleep(50);
      await sleep(1000);
      for (let k = 1; k <= n; k++) {
        await kube.ok('PATCH', `${base}/${name}`, { status: statusAt(k, n, shape === 'compressed') }, 'application/merge-patch+json');
        await sleep(150);
      }
      const res = await r;
      if (res.code !== 0) throw new Error(`${who} exited ${res.code}:\n${res.out.slice(-2000)}`);
      return { bytes: fromServer, cpu: res.cpu };
    };
    const followers = [['sluice', '`sluice watch <run> --json`'], ['reader', 'plain watch-stream reader (node, JSON.parse per event)'], ['kubectl', '`kubectl wait --for=jsonpath=...`']] as const;
    // --shapes compressed: a 1,000-iteration status in plain `status.nodes` is over etcd's request limit (`etcdserver: request is too large`), which is why the controller compresses it
    const shapes = (args.includes('--shapes') ? String(args[args.indexOf('--shapes') + 1]).split(',') : ['nodes', 'compressed']) as ('nodes' | 'compressed')[];
    for (const shape of shapes) {
      const per: Record<string, { bytes: number[]; cpu: number[] }> = {};
      const loads: string[] = [load()];
      for (let i = 0; i < reps; i++) {
        const order = i % 2 === 0 ? followers : [...followers].reverse();
        for (const [who] of order) {
          const all = await follow(who, shape, updates);
          const last = await follow(who, shape, 1);
          (per[who] ??= { bytes: [], cpu: [] }).bytes.push((all.bytes - last.bytes) / (updates - 1));
          per[who]!.cpu.push(((all.cpu - last.cpu) * 1000) / (updates - 1));
          console.log(`[bench] ${shape} ${who} rep ${i + 1}: ${all.bytes} B / ${all.cpu.toFixed(2)} s CPU with ${updates} updates, ${last.bytes} B / ${last.cpu.toFixed(2)} s with 1 (load ${load()})`);
        }
        loads.push(load());
      }
      say('');
      say(`watch cost, ${pods.length}-iteration fan-out (${Object.keys(finalNodes).length} nodes) in ${shape === 'nodes' ? '`status.nodes`' : '`status.compressedNodes` (gzip + base64, as the controller stores a Workflow over 1 MiB)'}: object ${(objectBytes[shape]! / 1024).toFixed(0)} KiB as JSON; ${updates} updates through the API server; ${reps} runs each, alternating (load average during: ${loads.join(' | ')})`);
      say('| follower | bytes per update (median) | CPU per update (median) |');
      say('| --- | --- | --- |');
      for (const [who, label] of followers) {
        const r = per[who]!;
        say(`| ${label} | ${(median(r.bytes) / 1024).toFixed(0)} KiB | ${median(r.cpu).toFixed(1)} ms |`);
      }
    }
  }
  say('');
  say(`finished ${new Date().toISOString()}, load average ${load()}`);
  writeFileSync(path.join(work, 'results.md'), `${lines.join('\n')}\n`);
} finally {
  proxy?.close();
  await harness?.stop();
  await cluster.stop();
}

/**
 * The node status of a real fan-out run, scaled to `count` iterations: the subtree of its first
 * iteration (the nodes whose names carry `(0:0)`) copied for every index, named as Argo names them
 * and with Argo's node ids; every node Succeeded. `pods`: per iteration, the ids of its subtree.
 */
function scaleNodes(wf: Workflow, name: string, count: number): { nodes: Record<string, WfNode>; pods: string[][] } {
  const from = wf.metadata.name;
  const src = Object.values(wf.status?.nodes ?? {});
  const rename = (s: string): string => (s === from ? name : s.startsWith(`${from}.`) ? `${name}${s.slice(from.length)}` : s);
  const idOf = (n: string): string => argoNodeId(name, n);
  const iter = src.filter((n) => /\(0:0\)/.test(n.name));
  const iterIds = new Set(iter.map((n) => n.id));
  const others = src.filter((n) => !/\(\d+:\d+\)/.test(n.name));
  const nodes: Record<string, WfNode> = {};
  const idMap = new Map<string, string>();
  for (const n of others) idMap.set(n.id, idOf(rename(n.name)));
  const pods: string[][] = [];
  for (let i = 0; i < count; i++) {
    const ids: string[] = [];
    const local = new Map<string, string>();
    for (const n of iter) local.set(n.id, idOf(rename(n.name).replace('(0:0)', `(${i}:${i})`)));
    for (const n of iter) {
      const c = structuredClone(n) as WfNode & Record<string, unknown>;
      c.name = rename(n.name).replace('(0:0)', `(${i}:${i})`);
      c.displayName = n.displayName.replace('(0:0)', `(${i}:${i})`);
      c.id = local.get(n.id)!;
      c.children = (n.children ?? []).map((x) => local.get(x) ?? idMap.get(x) ?? x);
      if (c.boundaryID) c.boundaryID = local.get(c.boundaryID) ?? idMap.get(c.boundaryID) ?? c.boundaryID;
      if (c.inputs?.parameters) for (const p of c.inputs.parameters) if (p.value === '0') p.value = String(i);
      nodes[c.id] = c;
      ids.push(c.id);
    }
    pods.push(ids);
  }
  const firstOfEach = (x: string): boolean => iterIds.has(x);
  for (const n of others) {
    const c = structuredClone(n) as WfNode & Record<string, unknown>;
    c.name = rename(n.name);
    c.id = idMap.get(n.id)!;
    if (c.boundaryID) c.boundaryID = idMap.get(c.boundaryID) ?? c.boundaryID;
    const kids = n.children ?? [];
    // a parent of the first iteration gets every iteration; drop the real run's other iterations
    c.children = kids.some(firstOfEach)
      ? pods.map((ids) => ids[iter.findIndex((x) => kids.includes(x.id))]!)
      : kids.filter((x) => idMap.has(x)).map((x) => idMap.get(x)!);
    nodes[c.id] = c;
  }
  return { nodes, pods };
}
