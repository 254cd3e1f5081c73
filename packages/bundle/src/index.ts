/**
 * @sluice/bundle: a pipeline's module graph in one file. `bundlePipeline(entry)` bundles the
 * pipeline module, everything it imports (helpers, constants, npm packages), the SDK, zod and the
 * executor into one ESM file that plain `node` runs with no `node_modules` beside it:
 *
 *   node sluice-<hash>.mjs exec --component <hash> --task <id> --outputs <dir> [--param …]…
 *   node sluice-<hash>.mjs ir        # the pipeline's IR as JSON
 *
 * The output is deterministic (the same sources give the same bytes) and named by its content
 * hash, which is also the code part of the cache key: changing an imported helper or a module
 * constant changes the hash.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { gzipSync } from 'node:zlib';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { LoadedPipeline } from '@sluice/executor';
import type { JsonValue, SluiceIssue } from '@sluice/sdk';

export { BUNDLE_USAGE } from './runtime.ts';

/** One self-contained pipeline bundle. */
export interface PipelineBundle {
  /** The ESM source. */
  readonly code: string;
  /** sha256 (hex) of the code's UTF-8 bytes. */
  readonly hash: string;
  /** `sluice-<first 16 hex of the hash>.mjs` */
  readonly fileName: string;
  /** Size in bytes. */
  readonly bytes: number;
  /** The modules in the bundle, relative to `root`, sorted. */
  readonly inputs: readonly string[];
  /** The directory paths in the bundle are relative to. */
  readonly root: string;
}

export interface BundleOptions {
  /** Named export holding the pipeline. @default the default export */
  readonly exportName?: string;
  /**
   * Directory that module paths in the bundle (its `// file` comments) are written relative to,
   * so that the same sources give the same bytes wherever the checkout is.
   * @default the nearest ancestor of the entry holding `.git` or `pnpm-workspace.yaml`, else the entry's directory
   */
  readonly root?: string;
  /** Include the executor runtime (what makes the bundle runnable). Off: only the pipeline's module graph, for analysis. @default true */
  readonly runtime?: boolean;
}

/** A bundle could not be built: each message is located (`file:line:col: text`). */
export class BundleError extends Error {
  override readonly name = 'BundleError';
  constructor(readonly messages: readonly string[]) {
    super(`cannot bundle the pipeline:\n${messages.map((m) => `  ${m}`).join('\n')}`);
  }
}

// the runtime module beside this one: runtime.ts in a checkout, runtime.js when published
const RUNTIME = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './runtime.ts' : './runtime.js', import.meta.url));

/**
 * The folder a pipeline's module graph is resolved from: the nearest one upwards of the entry with
 * `.git` or `pnpm-workspace.yaml`, else the entry's own folder.
 *
 * @example
 * projectRoot('/work/app/pipelines/train.ts') // '/work/app' when /work/app holds .git
 */
export function projectRoot(entry: string): string {
  for (let d = path.dirname(entry); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, '.git')) || existsSync(path.join(d, 'pnpm-workspace.yaml'))) return d;
    if (path.dirname(d) === d) return path.dirname(entry);
  }
}

function entrySource(entryBase: string, exportName: string | undefined, runtime = true): string {
  const name = JSON.stringify(exportName ?? 'default');
  return [
    `import * as user from ${JSON.stringify(`./${entryBase}`)};`,
    `import { toIR, functionRuntimes, isPipeline, parsePipelineParams } from '@sluice/sdk';`,
    ...(runtime ? [`import { bundleMain } from ${JSON.stringify(RUNTIME)};`] : []),
    `let value = user[${name}];`,
    `if (value === undefined && user.default && typeof user.default === 'object') value = user.default[${name}];`,
    `let loaded;`,
    `/** The bundled pipeline as the executor takes it (IR + runnable components). */`,
    `export function sluicePipeline() {`,
    `  if (!isPipeline(value)) throw new Error(${JSON.stringify(`${exportName ? `export "${exportName}"` : 'the default export'} of ${entryBase} is not a Sluice pipeline`)});`,
    `  return (loaded ??= { ir: toIR(value), runtimes: functionRuntimes(value), source: value });`,
    `}`,
    `export const pipeline = value;`,
    `/** Checks run parameters given as command-line text with the bundled pipeline's own schemas. */`,
    `export function sluiceParseParams(raw) { sluicePipeline(); return parsePipelineParams(value, raw, { fromCli: true }); }`,
    ...(runtime ? [`bundleMain(sluicePipeline, import.meta.url);`] : []),
    '',
  ].join('\n');
}

/**
 * Bundles the pipeline module graph of `entry` into one deterministic ESM file.
 *
 * @throws BundleError when a module cannot be resolved or parsed.
 * @example
 * const b = await bundlePipeline('examples/tabular-training/pipeline.ts');
 * writeBundle(b, '/tmp/out'); // /tmp/out/sluice-3f2a….mjs, runnable with `node`
 */
/** What {@link buildGraph} gets beside the shared options: the entry, where to resolve from, plugins. */
export interface GraphBuild {
  readonly stdin: { readonly contents: string; readonly resolveDir: string; readonly sourcefile: string; readonly loader: 'js' };
  readonly absWorkingDir: string;
  readonly plugins?: readonly unknown[];
}

/** One ES module of a module graph, and esbuild's record of the files in it. */
export interface GraphOutput {
  readonly outputFiles: readonly { readonly text: string; readonly contents: Uint8Array }[];
  readonly metafile: { readonly inputs: Record<string, unknown> };
}

/**
 * Bundles a module graph into one deterministic ES module for Node, with the options every
 * Sluice bundle shares (the shipped pipeline bundle and the module-graph hash).
 *
 * @throws esbuild's failure (with `errors`) when a module does not build.
 * @example
 * const r = await buildGraph({ stdin: { contents: "export * from './p.ts';", resolveDir: dir, sourcefile: '<entry>', loader: 'js' }, absWorkingDir: dir });
 */
export async function buildGraph(o: GraphBuild): Promise<GraphOutput> {
  // required, not imported: an import of its CommonJS entry runs Node's export lexer over it first
  const { build } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  return build({
    ...o,
    plugins: o.plugins as never,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // the executor imports tsx only to load a pipeline file, which a bundle never does
    external: ['tsx', 'tsx/*'],
    // CommonJS dependencies may `require` Node's built-ins from inside an ES module
    banner: { js: "import { createRequire as __sluiceCreateRequire } from 'node:module';\nconst require = __sluiceCreateRequire(import.meta.url);" },
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    charset: 'utf8',
    metafile: true,
    logLevel: 'silent',
  });
}

export async function bundlePipeline(entry: string, opts: BundleOptions = {}): Promise<PipelineBundle> {
  const abs = path.resolve(entry);
  if (!existsSync(abs)) throw new BundleError([`${entry}: no such file`]);
  const root = path.resolve(opts.root ?? projectRoot(abs));
  let result;
  try {
    result = await buildGraph({
      stdin: { contents: entrySource(path.basename(abs), opts.exportName, opts.runtime !== false), resolveDir: path.dirname(abs), sourcefile: '<sluice-bundle-entry>', loader: 'js' },
      absWorkingDir: root,
    });
  } catch (e) {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    if (!errors) throw e;
    throw new BundleError(errors.map((m) => (m.location ? `${m.location.file}:${m.location.line}:${m.location.column + 1}: ${m.text}` : m.text)));
  }
  const out = result.outputFiles[0];
  if (!out) throw new BundleError(['esbuild produced no output']);
  const code = out.text;
  const hash = createHash('sha256').update(out.contents).digest('hex');
  const inputs = Object.keys(result.metafile.inputs).filter((i) => i !== '<sluice-bundle-entry>').sort();
  return { code, hash, fileName: `sluice-${hash.slice(0, 16)}.mjs`, bytes: out.contents.byteLength, inputs, root };
}

/** Writes a bundle as `<dir>/<fileName>` and returns its path. */
export function writeBundle(b: PipelineBundle, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, b.fileName);
  writeFileSync(file, b.code);
  return file;
}

/** What a bundle module exports. */
export interface BundleModule {
  sluicePipeline(): LoadedPipeline;
  /** `--param` text checked with the pipeline's schemas (defaults applied). */
  sluiceParseParams(raw: Record<string, string>): { ok: true; values: Record<string, JsonValue> } | { ok: false; issues: SluiceIssue[] };
}

/** Imports a written bundle and returns what it exports (its IR matches the code in it). */
export async function importBundle(file: string): Promise<BundleModule> {
  const mod = (await import(pathToFileURL(path.resolve(file)).href)) as Partial<BundleModule>;
  if (typeof mod.sluicePipeline !== 'function' || typeof mod.sluiceParseParams !== 'function') throw new BundleError([`${file} is not a Sluice pipeline bundle`]);
  return mod as BundleModule;
}

/** Imports a written bundle and returns the pipeline it carries (its IR matches the code in it). */
export async function loadBundle(file: string): Promise<LoadedPipeline> {
  return (await importBundle(file)).sluicePipeline();
}

export { pipelineCodeHash } from './code-hash.ts';
export type { CodeHash } from './code-hash.ts';

/** The files a mounted ConfigMap holds for a bundle: a small loader and the gzipped bundle. */
export interface PackedBundle {
  /** `run.mjs`: unpacks the bundle (checking its hash) into `unpackDir` once, then runs it. */
  readonly loader: string;
  /** `bundle.mjs.gz` */
  readonly gz: Buffer;
  readonly loaderName: 'run.mjs';
  readonly gzName: 'bundle.mjs.gz';
}

/**
 * Packs a bundle for a ConfigMap (1 MiB at most): the bundle gzipped (JavaScript shrinks about
 * 4x) beside a loader that plain `node` runs: `node run.mjs exec …` unpacks it (once per pod) to
 * `unpackDir`, checks its sha256 and runs it.
 */
export function packBundle(b: PipelineBundle, unpackDir = '/tmp/sluice/bundle'): PackedBundle {
  const gz = gzipSync(Buffer.from(b.code, 'utf8'), { level: 9 });
  const loader = [
    '// Sluice bundle loader: unpacks the gzipped pipeline bundle beside it and runs it.',
    "import { createHash } from 'node:crypto';",
    "import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';",
    "import { pathToFileURL } from 'node:url';",
    "import { gunzipSync } from 'node:zlib';",
    `const dir = ${JSON.stringify(unpackDir)};`,
    `const out = dir + '/' + ${JSON.stringify(b.fileName)};`,
    'if (!existsSync(out)) {',
    "  const code = gunzipSync(readFileSync(new URL('./bundle.mjs.gz', import.meta.url)));",
    "  const got = createHash('sha256').update(code).digest('hex');",
    `  if (got !== ${JSON.stringify(b.hash)}) { process.stderr.write('sluice: the bundle is damaged (sha256 ' + got + ')\\n'); process.exit(1); }`,
    '  mkdirSync(dir, { recursive: true });',
    "  writeFileSync(out + '.' + process.pid, code);",
    "  renameSync(out + '.' + process.pid, out);",
    '}',
    'process.argv[1] = out;',
    'await import(pathToFileURL(out).href);',
    '',
  ].join('\n');
  return { loader, gz, loaderName: 'run.mjs', gzName: 'bundle.mjs.gz' };
}
