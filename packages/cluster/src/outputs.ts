/**
 * A cluster run's pipeline outputs, read from where Argo v4.0.5 really puts them. The compiled
 * entry DAG declares each pipeline output with a `globalName`, but the controller exports only
 * its tasks' outputs to the global scope, never the entry DAG's own (dag.go: the DAG's outputs go
 * on its node only), so `status.outputs` stays empty. In order:
 *
 * 1. the entry DAG node's `outputs` (`status.nodes[<workflow name>]`: the controller evaluated the
 *    DAG's `outputs` there, literals and `oneOf` expressions included);
 * 2. `status.outputs` (a controller that does export them);
 * 3. the producing task's node: the entry template's output names `{{tasks.<task>.outputs.…}}`,
 *    and that task is the node of the entry DAG with that display name (the compiler's DAG task
 *    name, which the source map maps back to the IR task).
 *
 * Parameter text is parsed by the pipeline output's declared type (the `sluice.dev/outputs`
 * annotation `submit` writes), as the executor wrote it: strings raw, everything else JSON.
 */
import { OUTPUT_LAYOUT, parseParamText, type ArtifactView, type JsonValue, type RunOutputArtifact, type RunOutputValue } from '@sluice/sdk';
import type { ArgoNode, ClusterTask, WorkflowLike } from './nodes.ts';

/** Annotation with the pipeline's output specs (name -> kind and type), for reading the outputs back. */
export const OUTPUTS_ANNOTATION = 'sluice.dev/outputs';

/** What the annotation keeps of an output's spec. */
export type OutputSpecLike =
  | { readonly kind: 'parameter'; readonly type: string; readonly items?: string }
  | { readonly kind: 'artifact'; readonly artifactType: string; readonly list?: boolean };

/**
 * An artifact among a cluster run's outputs, as the views carry it: its object key in the artifact
 * repository as `path` and `s3://<bucket>/<key>` as `uri` (bucket from the artifact's own location
 * or the workflow's artifact repository); its content `hash` is the sha256 the executor recorded
 * in the producing pod (the `sluice-artifacts` output parameter), empty for a step that records
 * none (a container step, or a Workflow compiled before the compiler declared the parameter).
 */
export type ClusterOutputArtifact = RunOutputArtifact;

/** What the executor records of one output artifact in a pod. */
export interface RecordedArtifact {
  readonly hash: string;
  readonly size: number;
  readonly type: string;
}

/** The output parameter the executor writes its output artifacts' hashes to (OUTPUT_LAYOUT.artifactHashes). */
const HASHES = OUTPUT_LAYOUT.artifactHashes;

/** A node's recorded artifacts, by output name (empty when it recorded none or the text is unreadable). */
export function recordedArtifacts(node: { readonly outputs?: ArgoOutputs }): Record<string, RecordedArtifact> {
  const text = node.outputs?.parameters?.find((p) => p.name === HASHES)?.value;
  if (!text) return {};
  try {
    const v = JSON.parse(text) as Record<string, Partial<RecordedArtifact>>;
    const out: Record<string, RecordedArtifact> = {};
    for (const [name, r] of Object.entries(v ?? {})) {
      if (r && typeof r.hash === 'string') out[name] = { hash: r.hash, size: typeof r.size === 'number' ? r.size : 0, type: typeof r.type === 'string' ? r.type : 'Artifact' };
    }
    return out;
  } catch {
    return {};
  }
}

/** Every recorded artifact of a run by its object key: the key names one node's output, wherever it is passed on to. */
function recordedByKey(nodes: { readonly [id: string]: NodeWithOutputs }): Map<string, RecordedArtifact> {
  const out = new Map<string, RecordedArtifact>();
  for (const n of Object.values(nodes)) {
    const rec = recordedArtifacts(n);
    for (const a of n.outputs?.artifacts ?? []) {
      const r = rec[a.name];
      if (r && a.s3?.key) out.set(a.s3.key, r);
    }
  }
  return out;
}

interface ArgoParam { readonly name: string; readonly value?: string; readonly valueFrom?: { readonly parameter?: string } }
interface ArgoArtifact { readonly name: string; readonly from?: string; readonly s3?: { readonly key?: string; readonly bucket?: string }; readonly [k: string]: unknown }
interface ArgoOutputs { readonly parameters?: readonly ArgoParam[]; readonly artifacts?: readonly ArgoArtifact[] }
type NodeWithOutputs = ArgoNode & { readonly outputs?: ArgoOutputs };
interface TemplateLike { readonly name: string; readonly outputs?: ArgoOutputs }
interface SpecLike { readonly entrypoint?: string; readonly templates?: readonly TemplateLike[] }
type StatusLike = { readonly outputs?: ArgoOutputs; readonly storedWorkflowTemplateSpec?: SpecLike; readonly artifactRepositoryRef?: { readonly artifactRepository?: { readonly s3?: { readonly bucket?: string } } } };

/** Reads the output specs from the annotation `submit` writes (empty when absent or unreadable). */
export function readOutputSpecs(wf: WorkflowLike): Record<string, OutputSpecLike> {
  const text = wf.metadata.annotations?.[OUTPUTS_ANNOTATION];
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, OutputSpecLike>) : {};
  } catch {
    return {};
  }
}

const TASK_REF = /^\{\{tasks\.([^.}]+)\.outputs\.(parameters|artifacts)\.([^}]+)\}\}$/;

/**
 * The pipeline outputs of a run (empty unless it succeeded, as for local runs), each by its
 * pipeline output name: parameters as JSON values, artifacts by their repository location.
 */
export function runOutputs(wf: WorkflowLike): Record<string, RunOutputValue> {
  if (wf.status?.phase !== 'Succeeded') return {};
  const status = (wf.status ?? {}) as StatusLike & NonNullable<WorkflowLike['status']>;
  const nodes = (status.nodes ?? {}) as { readonly [id: string]: NodeWithOutputs };
  const name = wf.metadata.name ?? '';
  const root = nodes[name] ?? Object.values(nodes).find((n) => n.name === name);
  const specs = readOutputSpecs(wf);
  const spec = (status.storedWorkflowTemplateSpec ?? wf.spec) as SpecLike | undefined;
  const entry = spec?.templates?.find((t) => t.name === (spec.entrypoint ?? root?.templateName));
  const declared = entry?.outputs;
  const names = new Set<string>([
    ...Object.keys(specs),
    ...(declared?.parameters ?? []).map((p) => p.name), ...(declared?.artifacts ?? []).map((a) => a.name),
    ...(root?.outputs?.parameters ?? []).map((p) => p.name), ...(root?.outputs?.artifacts ?? []).map((a) => a.name),
  ]);
  const bucket = status.artifactRepositoryRef?.artifactRepository?.s3?.bucket;
  const recorded = recordedByKey(nodes);

  // a task of the entry DAG by its DAG task name (retry attempts and loop iterations are not tasks of it)
  const taskNode = (task: string): NodeWithOutputs | undefined =>
    Object.values(nodes).find((n) => n.displayName === task && (n.boundaryID === root?.id || (!n.boundaryID && n.name === `${name}.${task}`)));
  const fromTask = (ref: string | undefined, kind: 'parameters' | 'artifacts'): ArgoParam | ArgoArtifact | undefined => {
    const m = ref ? TASK_REF.exec(ref) : null;
    if (!m || m[2] !== kind) return undefined;
    const outs = taskNode(m[1] as string)?.outputs?.[kind] as readonly (ArgoParam | ArgoArtifact)[] | undefined;
    return outs?.find((x) => x.name === m[3]);
  };

  const out: Record<string, RunOutputValue> = {};
  for (const n of [...names].sort()) {
    const s = specs[n];
    const isArtifact = s ? s.kind === 'artifact' : (declared?.artifacts ?? root?.outputs?.artifacts ?? []).some((a) => a.name === n);
    if (isArtifact) {
      const art = root?.outputs?.artifacts?.find((a) => a.name === n)
        ?? status.outputs?.artifacts?.find((a) => a.name === n)
        ?? (fromTask(declared?.artifacts?.find((a) => a.name === n)?.from, 'artifacts') as ArgoArtifact | undefined);
      const key = art?.s3?.key;
      if (!art || !key) continue;
      const b = art.s3?.bucket ?? bucket;
      const r = recorded.get(key);
      out[n] = { kind: 'artifact', type: s?.kind === 'artifact' ? s.artifactType : (r?.type ?? 'Artifact'), hash: r?.hash ?? '', path: key, uri: b ? `s3://${b}/${key}` : key, metadata: {} };
      continue;
    }
    const p = root?.outputs?.parameters?.find((x) => x.name === n && x.value !== undefined)
      ?? status.outputs?.parameters?.find((x) => x.name === n && x.value !== undefined)
      ?? (fromTask(declared?.parameters?.find((x) => x.name === n)?.valueFrom?.parameter, 'parameters') as ArgoParam | undefined);
    if (p?.value === undefined) continue;
    out[n] = parseValue(p.value, s);
  }
  return out;
}

function parseValue(text: string, s: OutputSpecLike | undefined): JsonValue {
  if (!s || s.kind !== 'parameter') {
    try {
      return JSON.parse(text) as JsonValue;
    } catch {
      return text;
    }
  }
  try {
    return parseParamText(text, { type: s.type as 'string', schema: s.items ? { items: { type: s.items } } : {} });
  } catch {
    return text;
  }
}

/**
 * The artifacts a run's tasks produced, as `sluice show` lists a local run's: for each task its
 * last attempt's recorded outputs (content hash, size, type), in task order then output name.
 * Consumers are not known from the node status (empty).
 */
export function runArtifacts(wf: WorkflowLike, tasks: ReadonlyMap<string, ClusterTask>): ArtifactView[] {
  const nodes = (wf.status?.nodes ?? {}) as { readonly [id: string]: NodeWithOutputs };
  const out: ArtifactView[] = [];
  for (const t of tasks.values()) {
    const node = nodes[t.podNodes[t.podNodes.length - 1] ?? ''];
    if (!node) continue;
    const rec = recordedArtifacts(node);
    for (const name of Object.keys(rec).sort()) {
      const r = rec[name] as RecordedArtifact;
      out.push({ name: `${t.key}.${name}`, task: t.key, output: name, type: r.type, size: r.size, hash: r.hash, metadata: {}, consumers: [] });
    }
  }
  return out;
}
