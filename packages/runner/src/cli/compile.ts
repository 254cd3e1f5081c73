/**
 * `sluice compile <pipeline.ts>`: validates a pipeline and writes its Argo manifest (or its IR, or
 * a drawing of its DAG). On any problem it prints every issue, exits non-zero and writes nothing.
 */
import { pathKind } from '@sluice/executor/paths';
import { type Command, Option } from 'commander';
import { checkOutputFile } from './flags.ts';
import { cachedFacts } from './source-facts.ts';
import type { CompileKind, GraphFormat } from '@sluice/compiler';
// the SDK itself (with zod) is imported by the action, once the pipeline's build has started
import { formatIssues, SluiceValidationError } from '@sluice/sdk/errors';
import type { JsonValue, Pipeline, PipelineIR, SluiceIssue } from '@sluice/sdk';

type Sdk = typeof import('@sluice/sdk');

export interface CompileDeps {
  /** Called first: the loader may start building the pipeline's modules while the compiler and the SDK load. */
  prepare?(file: string): void;
  /** Imports the pipeline file and returns its default export (or `exportName`); `codeHash`: a manifest with module-graph memoize keys will be written (the loader may start hashing meanwhile). */
  loadPipeline(file: string, exportName?: string, o?: { codeHash?: boolean }): Promise<unknown>;
  /**
   * After `loadPipeline`: the hash of the pipeline's module graph (what `sluice submit` and local
   * runs key their cache with), for the code part of memoize keys; `save` records it once the
   * manifest is written. Without it (tests of the verb alone) memoize
   * keys cover each step's `run` source only.
   */
  codeHash?(file: string, exportName?: string): Promise<{ readonly hash: string; readonly save?: () => void | Promise<void> } | { readonly error: string }>;
}

interface CompileFlags {
  output?: string;
  format: 'argo' | 'ir';
  kind: 'workflow' | 'template' | 'cron';
  param: string[];
  graph?: GraphFormat;
  export?: string;
  image?: string;
  entry?: string;
  name?: string;
  namespace?: string;
  schedule: string[];
  timezone?: string;
  /** commander's negation of --no-source-check */
  sourceCheck: boolean;
  /** commander's negation of --no-code-hash */
  codeHash: boolean;
}

const KIND: Record<CompileFlags['kind'], CompileKind> = { workflow: 'workflow', template: 'template', cron: 'cron' };

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/**
 * Problems with the cron schedules and time zone of a CronWorkflow: each schedule must parse as a
 * 5-field cron expression (what Argo's cron library accepts; croner also checks ranges), the time
 * zone must be an IANA name `Intl` knows.
 */
export async function scheduleIssues(schedules: readonly string[], timezone: string | undefined, kind: string): Promise<SluiceIssue[]> {
  const { Cron } = schedules.length ? await import('croner') : { Cron: undefined };
  const issues: SluiceIssue[] = [];
  if (kind === 'cron' && !schedules.length) issues.push({ code: 'cli.schedule', path: '--schedule', message: '--kind cron needs at least one --schedule, e.g. --schedule "0 3 * * *"' });
  if (kind !== 'cron' && schedules.length) issues.push({ code: 'cli.schedule', path: '--schedule', message: '--schedule is only for --kind cron' });
  schedules.forEach((cron, i) => {
    const macro = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(cron.trim());
    const fields = cron.trim().split(/\s+/);
    if (!macro && fields.length !== 5) {
      issues.push({ code: 'cli.schedule', path: `--schedule[${i}]`, message: `"${cron}" is not a cron schedule: expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"` });
      return;
    }
    try {
      if (Cron) new Cron(cron, { paused: true });
    } catch (e) {
      issues.push({ code: 'cli.schedule', path: `--schedule[${i}]`, message: `"${cron}" is not a cron schedule: ${(e as Error).message}` });
    }
  });
  if (timezone !== undefined) {
    let ok = false;
    try {
      ok = !!new Intl.DateTimeFormat('en-US', { timeZone: timezone }).resolvedOptions().timeZone;
    } catch { /* RangeError: invalid time zone */ }
    if (!ok) issues.push({ code: 'cli.timezone', path: '--timezone', message: `unknown time zone "${timezone}" (use an IANA name such as Europe/Paris or UTC)` });
    if (kind !== 'cron') issues.push({ code: 'cli.timezone', path: '--timezone', message: '--timezone is only for --kind cron' });
  }
  return issues;
}

/** JSON with object keys sorted at every level (arrays keep their order), two-space indented. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
    : v), 2)}\n`;
}

function toPipelineIR(loaded: unknown, { isPipeline, toIR }: Sdk): { ir: PipelineIR; pipeline: Pipeline | undefined } {
  const candidates = [loaded, (loaded as { pipeline?: unknown } | null)?.pipeline];
  for (const c of candidates) if (isPipeline(c)) return { ir: toIR(c), pipeline: c };
  const ir = (loaded as { ir?: unknown } | null)?.ir ?? loaded;
  if (ir && typeof ir === 'object' && (ir as { kind?: unknown }).kind === 'pipeline') return { ir: ir as PipelineIR, pipeline: undefined };
  throw new SluiceValidationError([{ code: 'cli.pipeline', path: '<file>', message: 'the module does not export a pipeline', hint: 'export default pipeline(...), or name the export with --export' }]);
}

function parseParams(flags: readonly string[], ir: PipelineIR, pipeline: Pipeline | undefined, { parsePipelineParams }: Sdk): { [k: string]: JsonValue } {
  const raw: Record<string, string> = {};
  const issues: SluiceIssue[] = [];
  for (const f of flags) {
    const i = f.indexOf('=');
    if (i <= 0) issues.push({ code: 'cli.param', path: `${ir.name}/params`, message: `--param expects name=value, got "${f}"` });
    else raw[f.slice(0, i)] = f.slice(i + 1);
  }
  if (issues.length) throw new SluiceValidationError(issues);
  if (pipeline) {
    const r = parsePipelineParams(pipeline, raw, { fromCli: true, partial: true });
    if (!r.ok) throw new SluiceValidationError(r.issues);
    // Only the parameters given on the command line replace defaults.
    return Object.fromEntries(Object.keys(raw).map((k) => [k, r.values[k]!]));
  }
  const out: { [k: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(raw)) {
    const spec = ir.params[k];
    if (spec?.kind === 'parameter' && spec.type !== 'string') {
      try { out[k] = JSON.parse(v) as JsonValue; } catch { issues.push({ code: 'cli.param', path: `${ir.name}/params.${k}`, message: `expected JSON for a ${spec.type} parameter, got "${v}"` }); }
    } else out[k] = v;
  }
  if (issues.length) throw new SluiceValidationError(issues);
  return out;
}

/**
 * Adds `sluice compile` to the CLI.
 *
 * @example
 * registerCompile(program, { loadPipeline: (file, name) => importPipeline(file, name) });
 * // sluice compile pipelines/train.ts -o train.yaml --param epochs=5
 * // sluice compile pipelines/train.ts --format ir -o train.ir.json
 * // sluice compile pipelines/train.ts --graph mermaid
 */
export function registerCompile(program: Command, deps: CompileDeps): void {
  program
    .command('compile')
    .description('validate a pipeline and write its Argo manifest (Workflow by default), its IR, or a drawing of its DAG')
    .argument('<pipeline>', 'pipeline file (TypeScript), e.g. pipelines/train.ts')
    .option('-o, --output <file>', 'write here instead of standard output')
    .addOption(new Option('--format <format>', 'argo (YAML manifest) or ir (IR as JSON)').choices(['argo', 'ir']).default('argo'))
    .addOption(new Option('--kind <kind>', 'workflow, template (WorkflowTemplate) or cron (CronWorkflow, needs --schedule)').choices(['workflow', 'template', 'cron']).default('workflow'))
    .option('-p, --param <name=value>', 'pipeline parameter value (repeatable)', collect, [])
    .addOption(new Option('--graph <format>', 'print the DAG as mermaid or dot instead of a manifest').choices(['mermaid', 'dot']))
    .option('--export <name>', 'named export holding the pipeline (default: the default export)')
    .option('--image <image>', 'image for function components (overrides the pipeline option)')
    .option('--entry <path>', 'pipeline file as seen from the image working directory (default: <pipeline> as given)')
    .option('--name <name>', 'object name (default: generateName <pipeline>- for a Workflow)')
    .option('--namespace <namespace>', 'namespace (overrides the pipeline option)')
    .option('--schedule <cron>', 'cron schedule for --kind cron (repeatable)', collect, [])
    .option('--timezone <tz>', 'time zone of the cron schedules, e.g. Europe/Paris')
    .option('--no-source-check', 'skip checking that every file and package the pipeline imports can be in the image')
    .option('--no-code-hash', "memoize keys cover each step's run() source only, not the module graph around it (the manifest then stays the same when a helper or a dependency changes, and Argo may serve a stale cached step)")
    .action(async (file: string, flags: CompileFlags) => {
      let text: string;
      let saveHash: (() => void | Promise<void>) | undefined;
      let saveFacts: (() => void) | undefined;
      // the pipeline's build first (esbuild works in a process of its own), then, on demand (other
      // verbs never pay for them), the compiler and the SDK, loaded meanwhile
      // (only a regular file: a FIFO or a device would block the build and the scan reading it)
      const analyzable = /\.(c|m)?[jt]sx?$/.test(file) && pathKind(file) === 'file';
      if (analyzable) deps.prepare?.(file);
      const compiler = import('@sluice/compiler');
      const sourcing = import('@sluice/compiler/source');
      const sdkLoad = import('@sluice/sdk');
      // the source analysis (doc comments become descriptions; for a manifest, every import must be
      // satisfiable inside the image) reads the files itself: it runs as soon as its module is
      // loaded, while esbuild builds the pipeline, instead of after the load
      // (each file's facts kept under its stamp: a repeated compile reads none of them again)
      const analysis = analyzable ? sourcing.then(({ analyzeSource, moduleFacts }) => {
        const facts = cachedFacts(moduleFacts);
        return { save: facts.save, source: analyzeSource(file, { read: facts.read }) };
      }) : undefined;
      for (const p of [compiler, sourcing, sdkLoad, analysis]) p?.catch(() => {});
      try {
        const cron = await scheduleIssues(flags.schedule, flags.timezone, flags.kind);
        if (cron.length && !flags.graph && flags.format === 'argo') throw new SluiceValidationError(cron);
        if (flags.output) checkOutputFile(flags.output);
        const manifest = !flags.graph && flags.format === 'argo';
        const loaded = await deps.loadPipeline(file, flags.export, { codeHash: manifest && flags.codeHash });
        // a manifest's memoize keys cover the whole module graph, as `sluice submit`'s do: a
        // changed helper outside run() misses Argo's cache (bundled while the file loaded)
        const hashing = manifest && flags.codeHash && deps.codeHash ? deps.codeHash(file, flags.export) : undefined;
        hashing?.catch(() => {});
        const { compile, toGraph } = await compiler;
        const sdk = await sdkLoad;
        const built = toPipelineIR(loaded, sdk);
        const { pipeline } = built;
        const { withDescriptions } = await sourcing;
        const analysed = await analysis;
        saveFacts = analysed?.save;
        const source = analysed?.source;
        const ir = source ? withDescriptions(built.ir, source.descriptions) : built.ir;
        if (source && flags.sourceCheck && flags.format === 'argo' && !flags.graph && source.issues.length) {
          throw new SluiceValidationError(source.issues);
        }
        const params = parseParams(flags.param, ir, pipeline, sdk);
        if (flags.graph || flags.format === 'ir') {
          const issues = sdk.validatePipelineIR(ir);
          if (issues.length) throw new SluiceValidationError(issues);
          text = flags.graph ? toGraph(ir, flags.graph) : stableJson(ir);
        } else {
          const code = await hashing;
          if (code && 'error' in code) process.stderr.write(`sluice: warning: memoize keys cover only each step's run() source: ${code.error}\n`);
          else saveHash = code?.save;
          text = compile(ir, {
            ...(code && 'hash' in code ? { codeHash: code.hash } : {}),
            entry: flags.entry ?? file,
            kind: KIND[flags.kind],
            params,
            schedules: flags.schedule,
            ...(flags.export ? { exportName: flags.export } : {}),
            ...(flags.image ? { image: flags.image } : {}),
            ...(flags.name ? { name: flags.name } : {}),
            ...(flags.namespace ? { namespace: flags.namespace } : {}),
            ...(flags.timezone ? { timezone: flags.timezone } : {}),
          }).yaml;
        }
      } catch (e) {
        if (!(e instanceof SluiceValidationError)) throw e;
        process.stderr.write(`${file}: ${e.issues.length} problem${e.issues.length === 1 ? '' : 's'}, nothing written:\n${formatIssues(e.issues)}\n`);
        process.exitCode = 2;
        return;
      }
      if (flags.output) {
        // (a regular file replaced whole; a link's target, a device or a FIFO written to, never replaced)
        const { writeOutputFile } = await import('@sluice/compiler/output');
        try {
          writeOutputFile(flags.output, text);
        } catch (e) {
          process.stderr.write(`sluice: cannot write ${flags.output}: ${(e as Error).message}\n`);
          process.exitCode = 1;
          return;
        }
      } else process.stdout.write(text);
      saveFacts?.();
      try { await saveHash?.(); } catch { /* not kept: the next compile bundles again */ }
    });
}
