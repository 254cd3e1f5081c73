/**
 * `sluice submit`: a pipeline file to objects on the cluster. The pipeline is bundled
 * (@sluice/bundle) and compiled from the bundle's own IR, so the component hashes in the
 * manifest are the ones the bundle answers to. Objects:
 *
 * - a ConfigMap `sluice-bundle-<hash>` holding the bundle, gzipped, and its loader (immutable;
 *   no-build mode), mounted at /sluice/bundle in every function step, which runs
 *   `node /sluice/bundle/run.mjs exec …` on a stock `node:22-slim` image; or nothing, when the
 *   steps run in an image you built;
 * - a WorkflowTemplate named by the hash of its content (created, or left alone when the same
 *   content is already there);
 * - a Workflow (`generateName: <pipeline>-`) that references it (`workflowTemplateRef`) with the
 *   run's parameters, labelled with the pipeline name, IR hash, git commit and bundle hash.
 *
 * Every object is first sent as a server-side dry run with strict field validation; a rejection
 * stops the submission before anything is stored.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NOT_A_FILE, pathKind } from '@sluice/executor/paths';
import { bundlePipeline, importBundle, packBundle, pipelineCodeHash, writeBundle, type BundleModule, type PipelineBundle } from '@sluice/bundle';
import { compile } from '@sluice/compiler';
import { canonicalJson, formatIssues, sha256, type JsonValue, type PipelineIR } from '@sluice/sdk';
import { KubeApiError, type Kube } from './kube.ts';
import { SOURCE_MAP_ANNOTATION } from './nodes.ts';
import { OUTPUTS_ANNOTATION, type OutputSpecLike } from './outputs.ts';
import { findRepository, uploadFiles } from './repository.ts';

const execFileAsync = promisify(execFile);
type Obj = Record<string, unknown>;

export const LABELS = {
  pipeline: 'sluice.dev/pipeline',
  irHash: 'sluice.dev/ir-hash',
  gitCommit: 'sluice.dev/git-commit',
  bundle: 'sluice.dev/bundle',
  template: 'sluice.dev/template',
} as const;

/** Where function steps' code comes from in the pods. */
export type CodeMode = { kind: 'bundle'; image?: string } | { kind: 'image'; image: string; entry: string };

export const BUNDLE_DIR = '/sluice/bundle';
/** Annotation holding the hash a template is named by (compared when it already exists). */
export const CONTENT_HASH = 'sluice.dev/content-hash';
export const BUNDLE_VOLUME = 'sluice-bundle';
/** A ConfigMap holds at most 1 MiB (name, labels and all). */
export const CONFIGMAP_LIMIT = 1_000_000;
/**
 * The image bundled steps run on. Node 22 (Node 20 is past its end of life); the bundle keeps
 * esbuild's `node20` target because the client loads the same bundle on its own Node (for the IR),
 * which may still be 20, and Node 22 runs that output unchanged.
 */
export const STOCK_IMAGE = 'node:22-slim';

/** A submission that cannot go ahead, with every reason (exit 2). */
export class SubmitError extends Error {
  override readonly name = 'SubmitError';
}

/**
 * The pipeline file of a submission must be a regular file (a FIFO or a device would block its
 * build).
 *
 * @throws SubmitError naming the file when it is missing or not a regular file.
 */
export function checkSubmitFile(file: string): void {
  const kind = pathKind(file);
  if (kind === 'missing') throw new SubmitError(`${file}: no such file`);
  if (kind !== 'file') throw new SubmitError(`${file}: ${NOT_A_FILE[kind]}, not a pipeline file (give the .ts file that exports the pipeline)`);
}

/** What `submit` would create, as plain objects. */
export interface Submission {
  readonly ir: PipelineIR;
  readonly irHash: string;
  readonly bundle?: PipelineBundle;
  readonly configMap?: Obj;
  /** A bundle over the ConfigMap limit: files to put under `prefix/` in the artifact repository before anything is created. */
  readonly bundleUpload?: { readonly prefix: string; readonly files: Readonly<Record<string, Buffer>> };
  readonly templates: readonly Obj[];
  readonly workflow: Obj;
}

export interface PrepareOptions {
  readonly exportName?: string;
  /** `--param name=value` text. */
  readonly params?: Readonly<Record<string, string>>;
  readonly namespace: string;
  readonly code?: CodeMode;
  /**
   * Keep function steps' checkpoints in S3 under `<prefix>/checkpoints/<run id>/<task>/`, so that a
   * retried or resubmitted pod resumes from the last one (bundle mode). Keys come from the Secret
   * `secret` (`accessKey`, `secretKey`, as Argo's artifact repositories use), never inline.
   */
  readonly checkpoints?: { readonly endpoint: string; readonly bucket: string; readonly prefix?: string; readonly secret?: string };
  /**
   * Largest bundle ConfigMap, in bytes of JSON: a larger bundle goes to the namespace's artifact
   * repository instead (`submitObjects` uploads it under its hash; the steps get it as an input artifact).
   * @default CONFIGMAP_LIMIT
   */
  readonly configMapLimit?: number;
}

/** Where a bundle too large for a ConfigMap goes in the artifact repository: `sluice/bundles/<bundle hash>/`. */
export const BUNDLE_PREFIX = 'sluice/bundles';
/** The input artifact of function steps carrying such a bundle (a key-only S3 artifact: a directory). */
export const BUNDLE_ARTIFACT = 'sluice-bundle';

/** Label carrying the run's id, the same on a resubmitted Workflow (checkpoints are found by it). */
export const RUN_ID_LABEL = 'sluice.dev/run-id';

/** Env of function steps: the run id from the pod's label, and the checkpoint store. */
function addStepEnv(spec: Obj, command: readonly string[], o: PrepareOptions): void {
  const env: Obj[] = [{ name: 'SLUICE_RUN_ID', valueFrom: { fieldRef: { fieldPath: `metadata.labels['${RUN_ID_LABEL}']` } } }];
  const c = o.checkpoints;
  if (c) {
    env.push({ name: 'SLUICE_CHECKPOINT_S3', value: JSON.stringify({ endpoint: c.endpoint, bucket: c.bucket, ...(c.prefix ? { prefix: c.prefix } : {}) }) });
    if (c.secret) {
      env.push({ name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: c.secret, key: 'accessKey' } } });
      env.push({ name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: c.secret, key: 'secretKey' } } });
    }
  }
  for (const t of (spec.templates as Obj[] | undefined) ?? []) {
    const ct = t.container as Obj | undefined;
    if (!ct || (ct.command as string[] | undefined)?.join('\0') !== command.join('\0')) continue;
    ct.env = [...((ct.env as Obj[] | undefined) ?? []).filter((e) => !env.some((x) => x.name === e.name)), ...env];
  }
}

/** What `sluice show` needs of the pipeline's output specs to read its outputs back (outputs.ts). */
function outputSpecs(ir: PipelineIR): Record<string, OutputSpecLike> {
  const out: Record<string, OutputSpecLike> = {};
  for (const [name, spec] of Object.entries(ir.outputs)) {
    if (spec.kind === 'artifact') out[name] = { kind: 'artifact', artifactType: spec.artifactType, ...(spec.list ? { list: true } : {}) };
    else {
      const items = (spec.schema as { items?: { type?: unknown } } | undefined)?.items?.type;
      out[name] = { kind: 'parameter', type: spec.type, ...(typeof items === 'string' ? { items } : {}) };
    }
  }
  return out;
}

function git(dir: string): { commit?: string; dirty?: boolean } {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit, dirty };
  } catch {
    return {};
  }
}

/** Mounts the bundle's ConfigMap in every template that runs the executor from it. */
function mountBundle(spec: Obj, configMap: string, command: readonly string[]): void {
  let used = false;
  for (const t of (spec.templates as Obj[] | undefined) ?? []) {
    const c = t.container as Obj | undefined;
    const cmd = c?.command as string[] | undefined;
    if (!c || !cmd || cmd.join('\0') !== command.join('\0')) continue;
    c.volumeMounts = [...((c.volumeMounts as Obj[] | undefined) ?? []), { name: BUNDLE_VOLUME, mountPath: BUNDLE_DIR, readOnly: true }];
    used = true;
  }
  if (used) spec.volumes = [...((spec.volumes as Obj[] | undefined) ?? []), { name: BUNDLE_VOLUME, configMap: { name: configMap } }];
}

/** Gives every template that runs the executor from the bundle the bundle directory as a key-only input artifact. */
function bundleArtifact(spec: Obj, prefix: string, command: readonly string[]): void {
  for (const t of (spec.templates as Obj[] | undefined) ?? []) {
    const c = t.container as Obj | undefined;
    const cmd = c?.command as string[] | undefined;
    if (!c || !cmd || cmd.join('\0') !== command.join('\0')) continue;
    const inputs = ((t.inputs as Obj | undefined) ?? {}) as Obj;
    t.inputs = { ...inputs, artifacts: [...((inputs.artifacts as Obj[] | undefined) ?? []), { name: BUNDLE_ARTIFACT, path: BUNDLE_DIR, s3: { key: prefix } }] };
  }
}

/**
 * Builds the objects of a submission (nothing is sent): bundles the pipeline, compiles its IR
 * and names the template by its content.
 *
 * @throws SubmitError for bad parameters (each located) or a pipeline the compiler rejects.
 */
export async function prepareSubmission(entry: string, o: PrepareOptions): Promise<Submission> {
  const code = o.code ?? { kind: 'bundle' };
  const exportOpt = o.exportName === undefined ? {} : { exportName: o.exportName };
  // the code part of function steps' memoize keys: the same module-graph hash local runs key their cache with
  const [bundle, moduleHash] = await Promise.all([bundlePipeline(entry, exportOpt), pipelineCodeHash(entry, o.exportName)]);
  const scratch = mkdtempSync(path.join(tmpdir(), 'sluice-submit-'));
  let mod;
  let ir: PipelineIR;
  try {
    const file = writeBundle(bundle, scratch);
    // The IR (its component hashes cover each run() source as loaded) comes from the bundle run by
    // plain node, as the pods run it: a process that transforms what it imports (a test runner,
    // a loader) would see other source text and compile hashes the pods do not answer to.
    const [irText] = await Promise.all([
      execFileAsync(process.execPath, [file, 'ir'], { encoding: 'utf8', maxBuffer: 1 << 30, cwd: scratch, env: { ...process.env, NODE_OPTIONS: '' } }).then((r) => r.stdout),
      importBundle(file).then((m) => { mod = m; }),
    ]);
    ir = JSON.parse(irText) as PipelineIR;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  if (!mod) throw new Error('the bundle did not load');
  const loadedMod: BundleModule = mod;
  const parsed = loadedMod.sluiceParseParams({ ...(o.params ?? {}) });
  if (!parsed.ok) throw new SubmitError(formatIssues(parsed.issues));
  const given: Record<string, JsonValue> = {};
  for (const k of Object.keys(o.params ?? {})) if (k in parsed.values) given[k] = parsed.values[k] as JsonValue;

  const file = `${BUNDLE_DIR}/${bundle.fileName}`;
  // an image from `sluice build` has `sluice-exec` on its PATH
  const command = code.kind === 'bundle' ? ['node', `${BUNDLE_DIR}/run.mjs`, 'exec'] : ['sluice-exec'];
  const common = {
    entry: code.kind === 'bundle' ? file : code.entry,
    ...(o.exportName && code.kind === 'image' ? { exportName: o.exportName } : {}),
    image: code.image ?? STOCK_IMAGE,
    namespace: o.namespace,
    executorCommand: command,
    ...('hash' in moduleHash ? { codeHash: moduleHash.hash } : {}),
  };
  let compiled;
  let withArgs;
  try {
    compiled = compile(ir, { ...common, kind: 'template' });
    withArgs = compile(ir, { ...common, kind: 'workflow', params: given });
  } catch (e) {
    if ((e as Error).name === 'SluiceValidationError') throw new SubmitError((e as Error).message);
    throw e;
  }
  const irHash = sha256(canonicalJson(ir as unknown as JsonValue)).slice(0, 16);
  const configMapName = `sluice-bundle-${bundle.hash.slice(0, 16)}`;
  const objects = compiled.objects.map((x) => structuredClone(x) as Obj);
  const entryTemplate = objects[objects.length - 1] as Obj;
  const spec = entryTemplate.spec as Obj;
  // the bundle ships in an immutable ConfigMap, or (over its limit) in the artifact repository under its hash
  let configMap: Obj | undefined;
  let bundleUpload: Submission['bundleUpload'];
  if (code.kind === 'bundle') {
    const packed = packBundle(bundle);
    configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: configMapName, namespace: o.namespace, labels: { [LABELS.pipeline]: ir.name, [LABELS.bundle]: bundle.hash.slice(0, 16) } },
      immutable: true,
      data: { [packed.loaderName]: packed.loader },
      binaryData: { [packed.gzName]: packed.gz.toString('base64') },
    };
    if (Buffer.byteLength(JSON.stringify(configMap)) > (o.configMapLimit ?? CONFIGMAP_LIMIT)) {
      configMap = undefined;
      bundleUpload = { prefix: `${BUNDLE_PREFIX}/${bundle.hash}`, files: { [packed.loaderName]: Buffer.from(packed.loader, 'utf8'), [packed.gzName]: packed.gz } };
    }
  }
  for (const t of objects) {
    if (configMap) mountBundle(t.spec as Obj, configMapName, command);
    else if (bundleUpload) bundleArtifact(t.spec as Obj, bundleUpload.prefix, command);
    addStepEnv(t.spec as Obj, command, o);
  }

  // content-named: the same pipeline, code and options give the same template, left alone on resubmission
  const meta = (entryTemplate.metadata ?? {}) as Obj;
  const annotations = { ...((meta.annotations as Record<string, string> | undefined) ?? {}) };
  const sourceMap = annotations[SOURCE_MAP_ANNOTATION] ?? (((spec.workflowMetadata as Obj | undefined)?.annotations as Record<string, string> | undefined)?.[SOURCE_MAP_ANNOTATION]);
  const contentHash = sha256(canonicalJson({ spec, annotations } as unknown as JsonValue)).slice(0, 10);
  const templateName = `${ir.name.slice(0, 52)}-${contentHash}`;
  const labels = { [LABELS.pipeline]: ir.name, [LABELS.irHash]: irHash, ...(code.kind === 'bundle' ? { [LABELS.bundle]: bundle.hash.slice(0, 16) } : {}) };
  entryTemplate.metadata = { name: templateName, namespace: o.namespace, labels: { ...((meta.labels as Obj | undefined) ?? {}), ...labels }, annotations: { ...annotations, [CONTENT_HASH]: contentHash } };
  for (const t of objects.slice(0, -1)) {
    const m = (t.metadata ?? {}) as Obj;
    t.metadata = { ...m, namespace: o.namespace, labels: { ...((m.labels as Obj | undefined) ?? {}), [LABELS.pipeline]: ir.name }, annotations: { ...((m.annotations as Obj | undefined) ?? {}), [CONTENT_HASH]: sha256(canonicalJson(t.spec as JsonValue)).slice(0, 10) } };
  }

  const g = git(path.dirname(path.resolve(entry)));
  const args = ((withArgs.objects[withArgs.objects.length - 1] as Obj).spec as Obj).arguments as { parameters?: { name: string; value?: string }[] } | undefined;
  const wanted = new Set(Object.keys(given));
  const parameters = (args?.parameters ?? []).filter((p) => wanted.has(p.name) || p.value === undefined);
  const runId = `${ir.name.slice(0, 40)}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(2).toString('hex')}`;
  const workflow: Obj = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Workflow',
    metadata: {
      generateName: `${ir.name.slice(0, 56)}-`,
      namespace: o.namespace,
      labels: { ...labels, [LABELS.template]: templateName, [RUN_ID_LABEL]: runId, ...(g.commit ? { [LABELS.gitCommit]: g.commit } : {}) },
      annotations: {
        'sluice.dev/entry': path.relative(process.cwd(), path.resolve(entry)) || entry,
        ...(g.dirty !== undefined ? { 'sluice.dev/git-dirty': String(g.dirty) } : {}),
        ...(sourceMap ? { [SOURCE_MAP_ANNOTATION]: sourceMap } : {}),
        ...(Object.keys(ir.outputs).length ? { [OUTPUTS_ANNOTATION]: JSON.stringify(outputSpecs(ir)) } : {}),
      },
    },
    // the run id reaches the pods as a label (SLUICE_RUN_ID), and a resubmission keeps it
    spec: { workflowTemplateRef: { name: templateName }, podMetadata: { labels: { [RUN_ID_LABEL]: runId } }, ...(parameters.length ? { arguments: { parameters } } : {}) },
  };
  return { ir, irHash, bundle, ...(configMap ? { configMap } : {}), ...(bundleUpload ? { bundleUpload } : {}), templates: objects, workflow };
}

/** What `submit` did. */
export interface SubmitResult {
  readonly workflow: string;
  readonly template: string;
  /** `created`, or `unchanged` when an identical template was already there. */
  readonly templateAction: 'created' | 'unchanged';
  readonly configMap?: string;
  /** Where the bundle was put in the artifact repository (a bundle over the ConfigMap limit). */
  readonly bundle?: string;
  readonly dryRun: boolean;
}

const COLLECTIONS: Record<string, [string, string]> = {
  ConfigMap: ['v1', 'configmaps'],
  WorkflowTemplate: ['argoproj.io/v1alpha1', 'workflowtemplates'],
  Workflow: ['argoproj.io/v1alpha1', 'workflows'],
};

function collectionOf(kube: Kube, obj: Obj): string {
  const [v, plural] = COLLECTIONS[String(obj.kind)] ?? [];
  if (!v || !plural) throw new Error(`cannot submit a ${String(obj.kind)}`);
  return kube.path(v, plural);
}

function rejection(kube: Kube, obj: Obj, res: { status: number; body: unknown; headers: Obj }): SubmitError {
  const err = kube.errorOf('POST', collectionOf(kube, obj), res as never);
  const name = ((obj.metadata ?? {}) as Obj).name ?? ((obj.metadata ?? {}) as Obj).generateName;
  return new SubmitError(`the API server rejected ${String(obj.kind)} ${String(name)}: ${err.message.replace(/^POST \S+: /, '')}`);
}

/** Same content: the content hash we put on templates, or a ConfigMap's data (the server adds defaults to specs). */
function sameContent(have: Obj, want: Obj): boolean {
  const hash = (o: Obj) => ((o.metadata as Obj | undefined)?.annotations as Record<string, string> | undefined)?.[CONTENT_HASH];
  if (hash(want) !== undefined) return hash(have) === hash(want);
  return canonicalJson((have.data ?? null) as JsonValue) === canonicalJson((want.data ?? null) as JsonValue);
}

async function ensure(kube: Kube, obj: Obj): Promise<'created' | 'unchanged'> {
  const coll = collectionOf(kube, obj);
  const res = await kube.create(coll, obj);
  if (res.status === 201 || res.status === 200) return 'created';
  if (res.status !== 409) throw rejection(kube, obj, res as never);
  const name = String((obj.metadata as Obj).name);
  const have = await kube.get(`${coll}/${encodeURIComponent(name)}`);
  if (!have) throw new KubeApiError(409, 'Conflict', `${String(obj.kind)} ${name}: conflict, then not found`);
  if (!sameContent(have, obj)) throw new SubmitError(`${String(obj.kind)} ${name} already exists with other content (its name is a hash of its content: was it edited by hand?); delete it and submit again`);
  return 'unchanged';
}

/**
 * Sends a submission: server-side dry runs of every object first (strict field validation), then
 * the bundle's ConfigMap and the templates (created, or left alone when identical), then the
 * Workflow. With `dryRun`, stops after the dry runs.
 */
export async function submitObjects(kube: Kube, s: Submission, o: { dryRun?: boolean } = {}): Promise<SubmitResult> {
  const all = [...(s.configMap ? [s.configMap] : []), ...s.templates, s.workflow];
  const problems: string[] = [];
  for (const obj of all) {
    const res = await kube.create(collectionOf(kube, obj), obj, { dryRun: true });
    if (res.status === 409) continue; // already there: compared when created below
    if (res.status < 200 || res.status > 299) problems.push(rejection(kube, obj, res as never).message);
  }
  // a bundle for the artifact repository: the repository (and its Secrets) must be there before anything is created
  const repo = s.bundleUpload ? await findRepository(kube).catch((e: unknown) => { problems.push((e as Error).message); return undefined; }) : undefined;
  if (problems.length) throw new SubmitError(`${problems.join('\n')}\nnothing was submitted.`);
  const template = String(((s.templates[s.templates.length - 1] as Obj).metadata as Obj).name);
  const configMap = s.configMap ? String((s.configMap.metadata as Obj).name) : undefined;
  if (o.dryRun) return { workflow: '(dry run)', template, templateAction: 'unchanged', ...(configMap ? { configMap } : {}), dryRun: true };
  let bundleAt: string | undefined;
  if (s.bundleUpload && repo) {
    await uploadFiles(kube, repo, s.bundleUpload.prefix, s.bundleUpload.files);
    bundleAt = `s3://${repo.bucket}/${s.bundleUpload.prefix}/`;
  }
  if (s.configMap) await ensure(kube, s.configMap);
  let templateAction: 'created' | 'unchanged' = 'unchanged';
  for (const t of s.templates) templateAction = await ensure(kube, t);
  const res = await kube.create(collectionOf(kube, s.workflow), s.workflow);
  if (res.status !== 201 && res.status !== 200) throw rejection(kube, s.workflow, res as never);
  const name = String(((res.body as Obj).metadata as Obj).name);
  return { workflow: name, template, templateAction, ...(configMap ? { configMap } : {}), ...(bundleAt ? { bundle: bundleAt } : {}), dryRun: false };
}
