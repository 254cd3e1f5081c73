// Laptop vs Argo: the same pipeline run locally (`runPipeline`, the engine behind `sluice run`)
// and compiled (`sluice compile`) + run on the test cluster, reduced to what must agree:
// output parameter values, output artifact bytes (by hash), which steps ran and how often, and
// which were skipped (branches not taken).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPipeline, type RunResult } from '@sluice/runner';
import type { KubeClient } from '../kube/client.ts';
import { repoRoot } from '../paths.ts';
import type { ClusterConnection } from './harness.ts';
import {
  artifactDigest,
  rootOutputs,
  nodeKey,
  normalizeValue,
  parseManifest,
  pathDigest,
  sluiceCompile,
  submitWorkflow,
  summarize,
  waitForWorkflow,
  type WfNode,
  type Workflow,
} from './workflows.ts';

export interface Outcome {
  status: string;
  params: Record<string, string>;
  artifacts: Record<string, string>;
  /** step (component task) name -> number of times it succeeded */
  ran: Record<string, number>;
  skipped: string[];
}

/** `partitions[3]/score-partition` -> `score-partition`; `train` -> `train`. */
function localStep(key: string): string {
  return key.split('/').pop()!.replace(/\[\d+\]$/, '');
}

/** `partitions(3:{...}).score-partition` / `main.train(0:gbm)` -> `score-partition` / `train`. */
function clusterStep(displayName: string): string {
  // loop iterations `x(3:...)`, retry attempts `x(2)`
  return displayName.replace(/\(\d+:.*\)$/, '').replace(/\(\d+\)$/, '');
}

/** Replaces each side's scratch directory in parameter values with one placeholder. */
function unside(o: Outcome, dir: string): Outcome {
  const params = Object.fromEntries(Object.entries(o.params).map(([k, v]) => [k, v.split(dir).join('<scratch>')]));
  return { ...o, params };
}

export function localOutcome(r: RunResult, loopNodes: ReadonlySet<string> = new Set()): Outcome {
  const params: Record<string, string> = {};
  const artifacts: Record<string, string> = {};
  for (const [name, v] of Object.entries(r.outputs)) {
    if (v && typeof v === 'object' && 'path' in v && typeof (v as { path: unknown }).path === 'string') {
      artifacts[name] = pathDigest((v as { path: string }).path);
    } else {
      params[name] = normalizeValue(v);
    }
  }
  const ran: Record<string, number> = {};
  const skipped: string[] = [];
  for (const [key, t] of Object.entries(r.tasks)) {
    const step = localStep(key);
    if (loopNodes.has(key)) continue;
    // Group nodes (conditions, loops) finish without an attempt of their own: not steps.
    if ((t.state === 'succeeded' && t.attempts > 0) || t.state === 'cached') ran[step] = (ran[step] ?? 0) + 1;
    else if (t.state === 'skipped') skipped.push(step);
  }
  return { status: r.status, params, artifacts, ran, skipped: [...new Set(skipped)].sort() };
}

export async function clusterOutcome(c: ClusterConnection, wf: Workflow): Promise<Outcome> {
  const params: Record<string, string> = {};
  const out = rootOutputs(wf);
  for (const [k, v] of Object.entries(out.parameters)) params[k] = normalizeValue(v);
  const artifacts: Record<string, string> = {};
  for (const a of out.artifacts) artifacts[a.name] = await artifactDigest(c.s3, a);
  const ran: Record<string, number> = {};
  const skipped: string[] = [];
  for (const n of Object.values(wf.status?.nodes ?? {})) {
    if (n.type === 'Pod' && n.phase === 'Succeeded') {
      const step = clusterStep(n.displayName);
      ran[step] = (ran[step] ?? 0) + 1;
    } else if (n.phase === 'Skipped' && (n.type === 'Skipped' || n.type === 'Pod')) {
      skipped.push(clusterStep(n.displayName));
    }
  }
  const status = wf.status?.phase === 'Succeeded' ? 'succeeded' : (wf.status?.phase ?? 'unknown').toLowerCase();
  return { status, params, artifacts, ran, skipped: [...new Set(skipped)].sort() };
}

export interface ParityRun {
  local: Outcome;
  cluster: Outcome;
  wf: Workflow;
  localResult: RunResult;
  yaml: string;
  /** The per-side scratch directories (<scratch>/local, <scratch>/cluster), removed after. */
  scratch: string;
}

/**
 * Runs `entry` (repository-relative) locally and on the cluster with the same parameters.
 * `compileArgs` go to `sluice compile` (e.g. `--export cpu`), `exportName` picks the same export locally.
 */
export async function runBoth(
  c: ClusterConnection,
  kube: KubeClient,
  entry: string,
  o: {
    exportName?: string;
    /** Parameters for both runs; `side` gives per-side ones (e.g. a scratch directory each). */
    params?: Record<string, string | number | boolean>;
    side?: (side: 'local' | 'cluster', scratch: string) => Record<string, string | number | boolean>;
    timeoutMs?: number;
    /**
     * Environment for the cluster's main containers, through the Workflow's own `spec.podSpecPatch`
     * (how a user hands pods e.g. `SLUICE_TRACKING_URI`); it keeps the node binding of the defaults.
     */
    podEnv?: Record<string, string>;
  } = {},
): Promise<ParityRun> {
  const yaml = sluiceCompile(entry, o.exportName ? ['--export', o.exportName] : []);
  const manifest = parseManifest(yaml);
  if (o.podEnv) {
    const env = Object.entries(o.podEnv).map(([name, value]) => ({ name, value }));
    manifest.spec.podSpecPatch = JSON.stringify({ nodeName: c.nodeName, containers: [{ name: 'main', env }] });
  }
  const store = mkdtempSync(path.join(tmpdir(), 'sluice-parity-'));
  const paramsFor = (side: 'local' | 'cluster') => {
    const scratch = path.join(store, side);
    mkdirSync(scratch, { recursive: true });
    return { ...o.params, ...o.side?.(side, scratch) };
  };
  const clusterParams = paramsFor('cluster');
  const localParams = paramsFor('local');
  const strParams = Object.fromEntries(Object.entries(clusterParams).map(([k, v]) => [k, String(v)]));
  const name = await submitWorkflow(kube, c.namespace, manifest, strParams);
  try {
    const abs = path.join(repoRoot, entry);
    const mod = (await import(abs)) as Record<string, unknown>;
    const pipeline = mod[o.exportName ?? 'default'];
    const localResult = await runPipeline(pipeline as unknown, {
      entry: abs,
      ...(o.exportName ? { exportName: o.exportName } : {}),
      mode: 'process',
      storeDir: path.join(store, 'store'),
      params: localParams,
    });
    const wf = await waitForWorkflow(kube, c.namespace, name, o.timeoutMs ?? 600_000);
    // Group nodes (loops, conditions) are not steps: keys that other keys extend.
    const keys = Object.keys(localResult.tasks);
    const loopNodes = new Set(keys.filter((k) => keys.some((o2) => o2.startsWith(`${k}[`) || o2.startsWith(`${k}/`))));
    const local = unside(localOutcome(localResult, loopNodes), path.join(store, 'local'));
    const clusterSide = unside(await clusterOutcome(c, wf), path.join(store, 'cluster'));
    return { local, cluster: clusterSide, wf, localResult, yaml, scratch: store };
  } finally {
    // The local store goes; the per-side scratch directories stay for the test to read (cleanup()).
    rmSync(path.join(store, 'store'), { recursive: true, force: true });
  }
}

/** Removes what runBoth left (the per-side scratch directories). */
export function cleanup(r: ParityRun): void {
  rmSync(r.scratch, { recursive: true, force: true });
}

/** The workflow's nodes, and the last lines of each failed step's output (from the host executor's pod directories). */
export function describeWorkflow(wf: Workflow, c?: ClusterConnection): string {
  let text = JSON.stringify(summarize(wf), null, 2);
  if (c) {
    for (const n of Object.values(wf.status?.nodes ?? {})) {
      if (n.type !== 'Pod' || (n.phase !== 'Failed' && n.phase !== 'Error')) continue;
      for (const log of podLogs(c, wf, n)) text += `\n--- ${nodeKey(wf, n)} (${log.dir}):\n${log.tail}`;
    }
  }
  return text;
}

/** A pod node's logs as the host executor kept them: stdout + stderr of the main container (last lines). */
export function podLogs(c: ClusterConnection, wf: Workflow, n: WfNode, lines = 15): { dir: string; tail: string }[] {
  const root = path.join(c.tmpDir, 'pods');
  if (!existsSync(root)) return [];
  const prefix = `${wf.metadata.namespace ?? c.namespace}_${wf.metadata.name}-${n.templateName ?? ''}-`;
  const id = n.id.slice(wf.metadata.name.length + 1); // the node hash, which ends the pod name
  return readdirSync(root)
    .filter((d) => d.startsWith(prefix) && d.includes(`-${id}_`))
    .map((d) => {
      const read = (f: string): string => (existsSync(path.join(root, d, f)) ? readFileSync(path.join(root, d, f), 'utf8') : '');
      const all = `${read('main.stdout')}${read('main.log')}`.trimEnd().split('\n');
      return { dir: d, tail: all.slice(-lines).join('\n') };
    });
}

export { nodeKey };
