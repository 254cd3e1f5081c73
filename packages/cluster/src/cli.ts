/**
 * The cluster verbs of the `sluice` CLI (registered by the runner's cli/main.ts, which imports
 * this package only when one of them runs, so local verbs never load @kubernetes/client-node).
 */
import type { Command } from 'commander';
import type { ArgoBackend } from './backend.ts';
import type { ConnectOptions } from './kube.ts';
import type { CodeMode } from './submit.ts';
import type { RunEvent, RunOutputValue, RunView } from '@sluice/sdk';

// loaded when a verb runs, so that registering the verbs costs nothing
const kubeMod = () => import('./kube.ts');
const backendMod = () => import('./backend.ts');
const submitMod = () => import('./submit.ts');

/** Errors that are the user's to fix: one line, exit 2. */
const USER_ERRORS = new Set(['KubeConfigError', 'SubmitError', 'RunUsageError', 'BundleError', 'SluiceValidationError', 'ParamError']);

/** What the runner's CLI lends the cluster verbs: its live view, and where the exit code goes. */
export interface ClusterCliDeps {
  /** The local runs' view (RunView), in the mode the flags ask for. */
  view(json: boolean): { event(e: RunEvent): void; close(): void };
  setCode(code: number): void;
}

interface ConnFlags { kubeconfig?: string; context?: string; namespace?: string }

function connOptions(o: ConnFlags): ConnectOptions {
  return {
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context ? { context: o.context } : {}),
    ...(o.namespace ? { namespace: o.namespace } : {}),
    ...(process.env.SLUICE_DEBUG ? { debug: (l: string) => process.stderr.write(`sluice debug: ${l}\n`) } : {}),
  };
}

function withConn(cmd: Command): Command {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, ~/.kube/config, or the pod\'s service account)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--namespace <ns>', 'namespace (default: the context\'s, else default)');
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function paramFlags(flags: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of flags) {
    const i = f.indexOf('=');
    if (i <= 0) throw Object.assign(new Error(`--param expects name=value, got "${f}"`), { name: 'ParamError' });
    out[f.slice(0, i)] = f.slice(i + 1);
  }
  return out;
}

/** `http(s)://host:port/bucket[/prefix]` to a checkpoint store. */
function checkpointStore(url: string, secret: string | undefined): { endpoint: string; bucket: string; prefix?: string; secret?: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw Object.assign(new Error(`--checkpoint-store expects http(s)://host:port/bucket[/prefix], got "${url}"`), { name: 'ParamError' });
  }
  const [bucket, ...rest] = u.pathname.split('/').filter(Boolean);
  if (!bucket || (u.protocol !== 'http:' && u.protocol !== 'https:')) throw Object.assign(new Error(`--checkpoint-store expects http(s)://host:port/bucket[/prefix], got "${url}"`), { name: 'ParamError' });
  return { endpoint: `${u.protocol}//${u.host}`, bucket, ...(rest.length ? { prefix: rest.join('/') } : {}), ...(secret ? { secret } : {}) };
}

/** Exit code of a finished run: 0 succeeded, 1 otherwise. */
export function exitCodeOf(v: Pick<RunView, 'status'>): number {
  return v.status === 'succeeded' ? 0 : 1;
}

let secrets: (text: string) => string = (t) => t.replace(/(bearer\s+)[^\s"',]+/gi, '$1<redacted>');

/** Runs one verb: known user errors print one line and give exit 2, API errors exit 1; nothing prints a credential. */
async function guarded(deps: ClusterCliDeps, fn: () => Promise<number>): Promise<void> {
  try {
    deps.setCode(await fn());
  } catch (e) {
    const err = e as Error;
    const user = USER_ERRORS.has(err.name);
    const text = process.env.SLUICE_DEBUG && !user ? (err.stack ?? err.message) : err.message;
    process.stderr.write(`sluice: ${secrets(text)}\n`);
    deps.setCode(user ? 2 : 1);
  }
}

async function backend(o: ConnFlags): Promise<ArgoBackend> {
  const { Kube } = await kubeMod();
  const kube = await Kube.connect(connOptions(o));
  secrets = (t) => kube.redact(t);
  return new (await backendMod()).ArgoBackend(kube);
}

async function watchRun(b: ArgoBackend, run: string, deps: ClusterCliDeps, json: boolean): Promise<number> {
  const view = deps.view(json);
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  try {
    const v = await b.watch(run, view.event, ac.signal);
    if (ac.signal.aborted) {
      process.stdout.write(`stopped watching; the run goes on: sluice watch ${run}\n`);
      return 130;
    }
    view.close();
    if (!json) {
      process.stdout.write(`run ${run} ${v.status}${v.error ? `: ${v.error}` : ''}\n`);
      if (v.outputs) process.stdout.write(formatClusterOutputs(v.outputs));
      if (v.status !== 'succeeded') process.stdout.write(`logs: sluice logs ${run}; retry the failed steps: sluice retry ${run}\n`);
    }
    return exitCodeOf(v);
  } finally {
    view.close();
    process.off('SIGINT', onSig);
  }
}

/** Registers submit, watch, stop, terminate, retry, resubmit and build on the `sluice` program. */
export function registerCluster(program: Command, deps: ClusterCliDeps): void {
  addClusterFlags(program);
  submitOptions(withConn(program.command('submit <file>').description('run a pipeline on Kubernetes with Argo Workflows (bundled code on node:22-slim, or --image); also `sluice run --cluster`')))
    .option('--export <name>', 'named export holding the pipeline')
    .option('-p, --param <name=value>', 'pipeline parameter (repeatable)', collect, [])
    .option('--dry-run', 'only the server-side dry run (strict field validation); nothing is stored')
    .option('--json', 'JSON output')
    .action((file: string, o: SubmitFlags) => guarded(deps, () => clusterSubmit(file, o, deps)));
  withConn(program.command('watch <run>').description('follow a cluster run live, as local runs are shown; exit code = the run\'s'))
    .option('--json', 'one JSON event per line')
    .action((run: string, o: ConnFlags & { json?: boolean }) => guarded(deps, async () => watchRun(await backend(o), run, deps, !!o.json)));
  // `stop` and `retry` are the local verbs too: with --cluster (added below) they come here.
  withConn(program.command('terminate <run>').description('terminate a cluster run now: running steps are killed, no exit handler (spec.shutdown: Terminate)'))
    .action((run: string, o: ConnFlags) => guarded(deps, () => clusterStop(run, o, 'terminate')));
  withConn(program.command('resubmit <run>').description('run a cluster run again as a new run; --memoized reuses its succeeded steps (argo resubmit)'))
    .option('--memoized', 'keep the succeeded steps of a failed run (only what failed runs again)')
    .option('--watch', 'follow the new run to its end')
    .option('--json', 'JSON output')
    .action((run: string, o: ConnFlags & { memoized?: boolean; watch?: boolean; json?: boolean }) => guarded(deps, async () => {
      const b = await backend(o);
      const next = await b.resubmit(run, { ...(o.memoized ? { memoized: true } : {}) });
      if (o.json) process.stdout.write(`${JSON.stringify({ run: next, from: run })}\n`);
      else process.stdout.write(`resubmitted ${run} as ${next}\n`);
      return o.watch ? watchRun(b, next, deps, !!o.json) : 0;
    }));
  program.command('build <file>').description('write a Dockerfile, .dockerignore and a pruned production install for an image that runs the pipeline\'s steps')
    .option('-o, --out <dir>', 'directory to write the build context to', 'sluice-build')
    .option('--base <image>', 'base image', 'node:20-slim')
    .action((file: string, o: { out: string; base: string }) => guarded(deps, async () => {
      const { buildContext } = await import('./build.ts');
      const r = await buildContext(file, { outDir: o.out, baseImage: o.base });
      process.stdout.write(`${r.summary}\n`);
      return 0;
    }));
}

/** Flags of `sluice submit` (and of `sluice run --cluster`, which has the rest of them as a local run does). */
export interface SubmitFlags extends ConnFlags { export?: string; param: string[]; image?: string; entryInImage?: string; watch?: boolean; dryRun?: boolean; json?: boolean; checkpointStore?: string; checkpointSecret?: string }

/** The flags `submit` has and `run` has not. */
function submitOptions(cmd: Command): Command {
  return cmd
    .option('--image <image>', 'run function steps in this image (built with `sluice build`) instead of shipping the bundle')
    .option('--entry-in-image <path>', 'with --image: the pipeline file inside the image (default: the file as given)')
    .option('--watch', 'follow the run to its end (exit code = the run\'s)')
    .option('--checkpoint-store <url>', 'keep step checkpoints in S3 so retried and resubmitted pods resume: http(s)://host:port/bucket[/prefix]')
    .option('--checkpoint-secret <name>', 'Secret with accessKey and secretKey for --checkpoint-store');
}

/** `sluice submit <file>` and `sluice run --cluster <file>`: bundle, compile, dry run, create; with `--watch`, follow to the end. */
export async function clusterSubmit(file: string, o: SubmitFlags, deps: ClusterCliDeps): Promise<number> {
  const params = paramFlags(o.param);
  // bad input before the cluster is asked anything
  const { checkSubmitFile } = await submitMod();
  checkSubmitFile(file);
  const b = await backend(o);
  const code: CodeMode = o.image ? { kind: 'image', image: o.image, entry: o.entryInImage ?? file } : { kind: 'bundle' };
  const { prepareSubmission, submitObjects } = await submitMod();
  const checkpoints = o.checkpointStore ? checkpointStore(o.checkpointStore, o.checkpointSecret) : undefined;
  const sub = await prepareSubmission(file, { ...(o.export ? { exportName: o.export } : {}), params, namespace: b.kube.namespace, code, ...(checkpoints ? { checkpoints } : {}) });
  const r = await submitObjects(b.kube, sub, { dryRun: !!o.dryRun });
  if (o.json) process.stdout.write(`${JSON.stringify({ ...r, backend: b.name })}\n`);
  else if (r.dryRun) process.stdout.write(`dry run: the API server accepts ${sub.configMap ? 'the bundle ConfigMap, ' : ''}${sub.bundleUpload ? '(the bundle would go to the artifact repository) ' : ''}${sub.templates.length} WorkflowTemplate(s) and the Workflow; nothing was stored\n`);
  else {
    process.stdout.write(`submitted ${r.workflow} to ${b.name} (template ${r.template} ${r.templateAction}${r.configMap ? `, code in ConfigMap ${r.configMap}` : ''}${r.bundle ? `, code in the artifact repository at ${r.bundle}` : ''})\n`);
    if (!o.watch) process.stdout.write(`watch: sluice watch ${r.workflow}; logs: sluice logs ${r.workflow}\n`);
  }
  return o.watch && !r.dryRun ? watchRun(b, r.workflow, deps, !!o.json) : 0;
}

/** What `sluice run` has only for local runs: refused with --cluster (exit 2), never silently ignored. */
const LOCAL_ONLY: readonly [keyof LocalRunFlags, string][] = [
  ['store', '--store'], ['inProcess', '--in-process'], ['freshProcesses', '--fresh-processes'], ['concurrency', '--concurrency'], ['runId', '--run-id'],
];
interface LocalRunFlags { store?: string; inProcess?: boolean; freshProcesses?: boolean; concurrency?: number; runId?: string; cache?: boolean }

/** `sluice run --cluster <file>`: `sluice submit` with `run`'s shared flags; local-only flags are refused. */
export async function clusterRun(file: string, o: SubmitFlags & LocalRunFlags, deps: ClusterCliDeps): Promise<void> {
  await guarded(deps, async () => {
    const bad = LOCAL_ONLY.filter(([k]) => o[k] !== undefined).map(([, f]) => f);
    if (o.cache === false) bad.push('--no-cache');
    if (bad.length) throw Object.assign(new Error(`${bad.join(', ')} ${bad.length > 1 ? 'are' : 'is'} for local runs only; \`sluice run --cluster\` is \`sluice submit\` (see \`sluice submit --help\`)${o.cache === false ? '; to run cached steps again on Argo, bump their cache version' : ''}`), { name: 'ParamError' });
    return clusterSubmit(file, o, deps);
  });
}

/** `sluice stop --cluster` (spec.shutdown: Stop: running steps finish, exit handlers run) and `sluice terminate`. */
export async function clusterStop(run: string, o: ConnFlags, how: 'stop' | 'terminate' = 'stop'): Promise<number> {
  await (await backend(o)).stop(run, how);
  process.stdout.write(`${how === 'stop' ? 'stopping' : 'terminating'} ${run}\n`);
  return 0;
}

/** `sluice retry --cluster`: argo retry in place (failed steps run again, succeeded ones are kept). */
export async function clusterRetry(run: string, o: ConnFlags & { watch?: boolean; json?: boolean }, deps: ClusterCliDeps): Promise<number> {
  const b = await backend(o);
  await b.retry(run);
  if (!o.json) process.stdout.write(`retrying ${run}\n`);
  return o.watch ? watchRun(b, run, deps, !!o.json) : 0;
}

/** Runs a cluster verb behind a local one, with the same error handling as the cluster verbs. */
export async function clusterGuarded(deps: ClusterCliDeps, fn: () => Promise<number>): Promise<void> {
  await guarded(deps, fn);
}

/** Adds `--cluster` and the connection flags to the local `run`, `runs`, `show`, `logs`, `stop` and `retry` verbs (and submit's own flags to `run`). */
function addClusterFlags(program: Command): void {
  for (const name of ['run', 'runs', 'show', 'logs', 'stop', 'retry']) {
    const cmd = program.commands.find((c) => c.name() === name);
    if (!cmd) continue;
    const what = name === 'runs' ? 'also list the runs on' : name === 'run' ? 'submit to' : 'a run on';
    cmd.option('--cluster', `${what} the cluster (Argo Workflows)${name === 'run' ? ': the same as `sluice submit`' : ''}; kubeconfig, --context, --namespace`);
    withConn(cmd);
    if (name === 'run') submitOptions(cmd);
    // `sluice retry <run> --cluster --watch`: follow the retried run to its end, as submit --watch does
    if (name === 'retry') cmd.option('--watch', 'with --cluster: follow the retried run until it ends (the exit code is the run\'s)');
  }
}

/** `sluice runs --cluster`: the cluster's runs, after the local ones, named by cluster and namespace. */
export async function clusterRuns(o: ConnFlags & { limit?: string; json?: boolean }): Promise<number> {
  let code = 0;
  await guarded({ setCode: (c) => { code = c; }, view: () => ({ event: () => {}, close: () => {} }) }, async () => {
    const b = await backend(o);
    const runs = await b.runs({ limit: Number(o.limit ?? 20) || 20 });
    if (o.json) process.stdout.write(`${JSON.stringify(runs)}\n`);
    else {
      process.stdout.write(`runs on ${b.name}:\n`);
      for (const r of runs) process.stdout.write(`${r.id.padEnd(36)} ${r.pipeline.padEnd(24)} ${r.status.padEnd(10)} ${r.createdAt}\n`);
      if (!runs.length) process.stdout.write('(none)\n');
    }
    return 0;
  });
  return code;
}

/** `sluice show <run> --cluster`. */
export async function clusterShow(run: string, o: ConnFlags & { json?: boolean }): Promise<number> {
  let code = 0;
  await guarded({ setCode: (c) => { code = c; }, view: () => ({ event: () => {}, close: () => {} }) }, async () => {
    const b = await backend(o);
    const v = await b.show(run);
    if (o.json) process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    else {
      process.stdout.write(`run ${v.id} (${v.pipeline}) ${v.status} on ${b.name}${v.error ? `: ${v.error}` : ''}\n`);
      if (v.git || v.irHash) process.stdout.write(`${v.git ? `git ${v.git.commit} ` : ''}${v.irHash ? `IR ${v.irHash}` : ''}\n`);
      for (const t of v.tasks) process.stdout.write(`  ${t.key.padEnd(32)} ${t.state.padEnd(10)} attempts ${t.attempts.length}${t.error ? `  ${t.error.split('\n')[0]}` : ''}\n`);
      if (v.outputs) process.stdout.write(formatClusterOutputs(v.outputs));
      if (v.artifacts.length) {
        process.stdout.write('artifacts\n');
        for (const a of v.artifacts) process.stdout.write(`  ${a.name.padEnd(32)} ${a.type}  sha256:${a.hash.slice(0, 16)}  ${a.size} bytes\n`);
      }
    }
    return 0;
  });
  return code;
}

/** A cluster run's outputs as `sluice show` prints a local run's: parameter values, artifacts as type, content hash (when the pod recorded it) and repository URI. */
export function formatClusterOutputs(outputs: { readonly [name: string]: RunOutputValue }): string {
  const names = Object.keys(outputs).sort();
  if (!names.length) return '';
  const w = Math.max(...names.map((n) => n.length));
  const lines = names.map((name) => {
    const v = outputs[name];
    if (v && typeof v === 'object' && !Array.isArray(v) && (v as { kind?: unknown }).kind === 'artifact') {
      const a = v as { type: string; uri: string; hash?: string };
      return `  ${name.padEnd(w)}  ${a.type}  ${a.hash ? `sha256:${a.hash.slice(0, 16)}  ` : ''}${a.uri}`;
    }
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return `  ${name.padEnd(w)}  ${text.length > 160 ? `${text.slice(0, 160)}… (${text.length} characters; all of it in --json)` : text}`;
  });
  return `outputs\n${lines.join('\n')}\n`;
}

/** `sluice logs <run> [task] --cluster`. */
export async function clusterLogs(run: string, task: string | undefined, o: ConnFlags & { follow?: boolean }): Promise<number> {
  let code = 0;
  await guarded({ setCode: (c) => { code = c; }, view: () => ({ event: () => {}, close: () => {} }) }, async () =>
    (await backend(o)).logs(run, task, { ...(o.follow ? { follow: true } : {}), write: (t) => process.stdout.write(t) }));
  return code;
}
