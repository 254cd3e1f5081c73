// Laptop vs Argo: the same pipeline run locally (`runPipeline`, the engine behind `sluice run`)
// and compiled (`sluice compile`) + run on the test cluster, reduced to what must agree:
// output parameter values, output artifact bytes (by hash), which steps ran and how often, and
// which were skipped (branches not taken).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runPipeline, type RunResult } from '@sluice/runner';
import type { KubeClient } from '../kube/client.ts';
import { repoRoot } from '../paths.ts';
import type { ClusterConnection } from './harness.ts';
import {
  artifactDigest,
  globalParams,
  nodeKey,
  normalizeValue,
  parseManifest,
  pathDigest,
  sluiceCompile,
  submitWorkflow,
  summarize,
  waitForWorkflow,
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
  return displayName.replace(/\(\d+:.*\)$/, '');
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
    if (t.state === 'succeeded' || t.state === 'cached') ran[step] = (ran[step] ?? 0) + 1;
    else if (t.state === 'skipped') skipped.push(step);
  }
  return { status: r.status, params, artifacts, ran, skipped: [...new Set(skipped)].sort() };
}

export async function clusterOutcome(c: ClusterConnection, wf: Workflow): Promise<Outcome> {
  const params: Record<string, string> = {};
  for (const [k, v] of Object.entries(globalParams(wf))) params[k] = normalizeValue(v);
  const artifacts: Record<string, string> = {};
  for (const a of wf.status?.outputs?.artifacts ?? []) artifacts[a.name] = await artifactDigest(c.s3, a);
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
}

/**
 * Runs `entry` (repository-relative) locally and on the cluster with the same parameters.
 * `compileArgs` go to `sluice compile` (e.g. `--export cpu`), `exportName` picks the same export locally.
 */
export async function runBoth(
  c: ClusterConnection,
  kube: KubeClient,
  entry: string,
  o: { exportName?: string; params?: Record<string, string | number | boolean>; timeoutMs?: number } = {},
): Promise<ParityRun> {
  const yaml = sluiceCompile(entry, o.exportName ? ['--export', o.exportName] : []);
  const manifest = parseManifest(yaml);
  const strParams = Object.fromEntries(Object.entries(o.params ?? {}).map(([k, v]) => [k, String(v)]));
  const name = await submitWorkflow(kube, c.namespace, manifest, strParams);
  const store = mkdtempSync(path.join(tmpdir(), 'sluice-parity-'));
  try {
    const abs = path.join(repoRoot, entry);
    const mod = (await import(abs)) as Record<string, unknown>;
    const pipeline = mod[o.exportName ?? 'default'];
    const localResult = await runPipeline(pipeline as never, {
      entry: abs,
      ...(o.exportName ? { exportName: o.exportName } : {}),
      mode: 'process',
      storeDir: path.join(store, 'store'),
      ...(o.params ? { params: o.params } : {}),
    });
    const wf = await waitForWorkflow(kube, c.namespace, name, o.timeoutMs ?? 600_000);
    const loopNodes = new Set(Object.keys(localResult.tasks).filter((k) => Object.keys(localResult.tasks).some((o2) => o2.startsWith(`${k}[`))));
    return { local: localOutcome(localResult, loopNodes), cluster: await clusterOutcome(c, wf), wf, localResult, yaml };
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}

export function describeWorkflow(wf: Workflow): string {
  return JSON.stringify(summarize(wf), null, 2);
}

export { nodeKey };
