// Helpers for tests that run compiled workflows on the test cluster: compile with the repo's
// `sluice compile`, submit, wait, and read back what ran (nodes, outputs, artifact bytes).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import type { KubeClient } from '../kube/client.ts';
import { repoRoot } from '../paths.ts';
import { getObject, s3Client, sha256, type S3Connection } from './s3.ts';

// `yaml` is a dependency of packages/compiler, not of the root: load it from there.
const { parseAllDocuments } = createRequire(path.join(repoRoot, 'packages/compiler/package.json'))('yaml') as {
  parseAllDocuments(text: string, o: { version: '1.1' }): { toJS(): unknown }[];
};
const sluiceBin = path.join(repoRoot, 'packages/runner/bin/sluice.mjs');
const WF = (ns: string): string => `/apis/argoproj.io/v1alpha1/namespaces/${ns}/workflows`;

export interface WfNode {
  id: string;
  name: string;
  displayName: string;
  type: string;
  phase: string;
  templateName?: string;
  message?: string;
  boundaryID?: string;
  children?: string[];
  outputs?: { parameters?: { name: string; value?: string }[]; artifacts?: WfArtifact[]; exitCode?: string };
  inputs?: { parameters?: { name: string; value?: string }[] };
  memoizationStatus?: { hit: boolean; key: string; cacheName: string };
  startedAt?: string;
  finishedAt?: string;
}
export interface WfArtifact {
  name: string;
  s3?: { key: string; bucket?: string };
  [k: string]: unknown;
}
export interface Workflow {
  apiVersion: string;
  kind: string;
  metadata: { name: string; generateName?: string; namespace?: string; labels?: Record<string, string>; uid?: string };
  spec: Record<string, unknown>;
  status?: {
    phase?: string;
    message?: string;
    nodes?: Record<string, WfNode>;
    outputs?: { parameters?: { name: string; value?: string }[]; artifacts?: WfArtifact[] };
    startedAt?: string;
    finishedAt?: string;
  };
}

/** The YAML `sluice compile` prints, parsed the way Argo reads it (YAML 1.1); the Workflow document. */
export function parseManifest(yaml: string): Workflow {
  const docs = parseAllDocuments(yaml, { version: '1.1' }).map((d) => d.toJS() as Workflow);
  const wf = docs.find((d) => d?.kind === 'Workflow');
  if (!wf) throw new Error(`no Workflow in manifest (kinds: ${docs.map((d) => d?.kind).join(', ')})`);
  return wf;
}

/** Every document, for multi-document manifests (split WorkflowTemplates + Workflow). */
export function parseManifests(yaml: string): Workflow[] {
  return parseAllDocuments(yaml, { version: '1.1' }).map((d) => d.toJS() as Workflow).filter(Boolean);
}

/** `sluice compile <entry> [args]` from the repository root, as a user runs it. */
export function sluiceCompile(entry: string, args: readonly string[] = []): string {
  const r = spawnSync(process.execPath, [sluiceBin, 'compile', entry, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`sluice compile ${entry} exited with ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

export async function submitWorkflow(kube: KubeClient, ns: string, wf: Workflow, params: Record<string, string> = {}): Promise<string> {
  const obj = structuredClone(wf);
  const args = ((obj.spec.arguments ??= {}) as { parameters?: { name: string; value?: string }[] });
  for (const [k, v] of Object.entries(params)) {
    const p = (args.parameters ??= []).find((x) => x.name === k);
    if (p) p.value = v;
    else args.parameters.push({ name: k, value: v });
  }
  delete (obj.metadata as { namespace?: string }).namespace;
  const created = (await kube.ok('POST', WF(ns), obj)) as Workflow;
  return created.metadata.name;
}

export async function getWorkflow(kube: KubeClient, ns: string, name: string): Promise<Workflow> {
  return (await kube.ok('GET', `${WF(ns)}/${name}`)) as Workflow;
}

export async function waitForWorkflow(kube: KubeClient, ns: string, name: string, timeoutMs = 300_000): Promise<Workflow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const wf = await getWorkflow(kube, ns, name);
    const phase = wf.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed' || phase === 'Error') {
      // Succeeded/Failed is written with the nodes; give the controller's last write a moment.
      return wf;
    }
    if (Date.now() > deadline) {
      throw new Error(`workflow ${name} still ${phase ?? 'unstarted'} after ${timeoutMs / 1000}s: ${JSON.stringify(summarize(wf))}`);
    }
    await sleep(300);
  }
}

export async function deleteWorkflow(kube: KubeClient, ns: string, name: string): Promise<void> {
  await kube.request('DELETE', `${WF(ns)}/${name}`);
}

/** Pod nodes by display name (Argo's node name without the workflow prefix), with phase and message. */
export function summarize(wf: Workflow): { name: string; phase?: string; message?: string; nodes: Record<string, string> } {
  const nodes: Record<string, string> = {};
  for (const n of Object.values(wf.status?.nodes ?? {})) {
    if (n.type === 'Pod' || n.type === 'Skipped' || n.phase === 'Skipped' || n.phase === 'Omitted') {
      nodes[nodeKey(wf, n)] = n.phase + (n.message ? `: ${n.message}` : '');
    }
  }
  return { name: wf.metadata.name, ...(wf.status?.phase ? { phase: wf.status.phase } : {}), ...(wf.status?.message ? { message: wf.status.message } : {}), nodes };
}

/** A node's name relative to the workflow: `fit-line`, `train(0:gbm)`, `main.onExit`... */
export function nodeKey(wf: Workflow, n: WfNode): string {
  return n.name.startsWith(`${wf.metadata.name}.`) ? n.name.slice(wf.metadata.name.length + 1) : n.name;
}

export function podNodes(wf: Workflow): WfNode[] {
  return Object.values(wf.status?.nodes ?? {}).filter((n) => n.type === 'Pod');
}

/**
 * The pipeline's outputs: the outputs of the entrypoint's (root) node. Not `status.outputs`:
 * Argo v4.0.5 exports to the global scope only the outputs of tasks inside a DAG (dag.go), never
 * the entry DAG's own, so the compiled `globalName`s there leave `status.outputs` empty.
 */
export function rootOutputs(wf: Workflow): { parameters: Record<string, string>; artifacts: WfArtifact[] } {
  const root = wf.status?.nodes?.[wf.metadata.name];
  return {
    parameters: Object.fromEntries((root?.outputs?.parameters ?? []).map((p) => [p.name, p.value ?? ''])),
    artifacts: root?.outputs?.artifacts ?? [],
  };
}

/**
 * Bytes of an artifact as the step wrote it: downloaded from S3, and if Argo stored it as a
 * tar.gz, unpacked (a single file -> its bytes; a directory -> a stable hash of its tree).
 */
export async function artifactDigest(s3: S3Connection, art: WfArtifact): Promise<string> {
  if (!art.s3?.key) throw new Error(`artifact ${art.name} has no s3 key: ${JSON.stringify(art)}`);
  const data = await getObject(s3Client(s3), art.s3.bucket ?? s3.bucket, art.s3.key);
  if (!(data[0] === 0x1f && data[1] === 0x8b)) return sha256(data);
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-art-'));
  try {
    const f = path.join(dir, 'a.tgz');
    writeFileSync(f, data);
    const out = path.join(dir, 'x');
    spawnSync('mkdir', ['-p', out]);
    const r = spawnSync('tar', ['-xzf', f, '-C', out], { encoding: 'utf8' });
    if (r.status !== 0) return sha256(data); // a gzip file that is not a tarball: the bytes
    const entries = readdirSync(out);
    return entries.length === 1 ? pathDigest(path.join(out, entries[0]!)) : pathDigest(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** sha256 of a file's bytes, or of a directory's sorted (relative path, file sha256) list. */
export function pathDigest(p: string): string {
  const st = statSync(p);
  if (st.isFile()) return sha256(readFileSync(p));
  const lines: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of readdirSync(d).sort()) {
      const full = path.join(d, e);
      const r = rel ? `${rel}/${e}` : e;
      if (statSync(full).isDirectory()) walk(full, r);
      else lines.push(`${r} ${sha256(readFileSync(full))}`);
    }
  };
  walk(p, '');
  return sha256(lines.join('\n'));
}

/** A value as Argo carries it (a string), normalised for comparison with a local typed value. */
export function normalizeValue(v: unknown): string {
  if (typeof v === 'string') {
    try {
      return canonical(JSON.parse(v));
    } catch {
      return JSON.stringify(v);
    }
  }
  return canonical(v);
}

/** JSON with object keys sorted (key order is not part of a value's meaning). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
