/**
 * How a pipeline file is imported, by `sluice compile` and by `sluice exec` (a pod, a local step)
 * alike: the pipeline's own modules (every file that is not a JavaScript file inside
 * `node_modules`: the project, TypeScript workspace packages) are bundled into one ES module with
 * esbuild, with fixed options (target node20, names kept), and that module is imported with plain
 * `node`; packages in `node_modules` stay outside it and load as Node loads them (each import
 * resolved from its importer as Node does, written as a file URL). Component hashes cover each
 * `run` function's source as loaded, so one loader on both sides makes them equal by construction,
 * whatever loader the calling process has; tsx (a hooks thread every import goes through) stays
 * off the hot path.
 *
 * What a bundle cannot give a module as Node or tsx would (`__dirname`, `__filename`, `require`,
 * `import.meta` beyond `url`/`dirname`/`filename`, an `import()` of a package or of a computed
 * specifier) makes the file load through tsx instead: the decision depends on the sources only, so
 * both sides take the same one. In the bundle, each module's `import.meta.url` (`.dirname`,
 * `.filename`) is its own file's.
 *
 * The built module is kept in the user's cache directory (`$SLUICE_CACHE`, else
 * `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`; the system's temporary directory when that
 * cannot be written), named by its content, with an index entry per entry file recording the
 * stamps (path, size, mtime and ctime in nanoseconds; absent files too) of what it was built from:
 * the bundled files, each package.json and tsconfig.json from their folders up to the root, the
 * nearest package.json of every package it imports, the lockfiles at the project root, esbuild's
 * package.json and this module. While every stamp holds, a load imports the kept module without
 * esbuild. Not watched: a new file that would change how an import resolves while no recorded
 * file changes (as for the code-hash cache).
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin, SourceMap } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** path, size (-1: absent), mtime and ctime in nanoseconds */
type Stamp = readonly [file: string, size: number, mtimeNs: string, ctimeNs: string];

interface IndexEntry {
  readonly version: 1;
  /** The built entry module, relative to the cache directory (`<content hash>/<entry>.js`, its chunks beside it). */
  readonly module: string;
  readonly files: readonly Stamp[];
}

/** Why a file cannot be bundled faithfully (then tsx loads the pipeline). */
export class NotBundleable extends Error {
  override readonly name = 'NotBundleable';
}

const LOCKFILES = ['pnpm-lock.yaml', 'package-lock.json', 'yarn.lock', 'bun.lock'];
const SOURCE = /\.(c|m)?[jt]sx?$/;
const TYPESCRIPT = /\.(c|m)?tsx?$/;
// what the bundle cannot give a module as Node does
const UNBUNDLEABLE = /\b__dirname\b|\b__filename\b|\brequire\s*\(|\bimport\.meta\b(?!\.(?:url|dirname|filename)\b)|\bimport\s*\(\s*(?!['"]\.{1,2}\/)/;

function stamp(file: string): Stamp {
  try {
    const s = statSync(file, { bigint: true });
    return [file, Number(s.size), String(s.mtimeNs), String(s.ctimeNs)];
  } catch {
    return [file, -1, '', ''];
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The user cache directory for Sluice's own caches: `$SLUICE_CACHE`, else `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`. */
export function sluiceCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SLUICE_CACHE) return resolve(env.SLUICE_CACHE);
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'sluice');
}

/** A writable directory for built modules: the cache directory's `load/`, else one in the temporary directory. */
function loadDir(): string | undefined {
  for (const d of [join(sluiceCacheDir(), 'load'), join(tmpdir(), `sluice-load-${process.getuid?.() ?? 'user'}`)]) {
    try {
      mkdirSync(d, { recursive: true, mode: 0o700 });
      accessSync(d, constants.W_OK);
      return d;
    } catch { /* not writable: next */ }
  }
  return undefined;
}

function inNodeModules(file: string): boolean {
  return file.split(/[\\/]/).includes('node_modules');
}

/** The nearest package.json upwards of `file`. */
function nearestManifest(file: string): string | undefined {
  for (let d = dirname(file); ; d = dirname(d)) {
    const m = join(d, 'package.json');
    if (existsSync(m)) return m;
    if (dirname(d) === d) return undefined;
  }
}

/** The folder lockfiles are looked for in: the nearest one upwards of the entry with `.git` or `pnpm-workspace.yaml`, else the entry's own. */
function projectRoot(entry: string): string {
  for (let d = dirname(entry); ; d = dirname(d)) {
    if (existsSync(join(d, '.git')) || existsSync(join(d, 'pnpm-workspace.yaml'))) return d;
    if (dirname(d) === d) return dirname(entry);
  }
}

function toolFiles(): string[] {
  const out = [fileURLToPath(import.meta.url)];
  try { out.push(createRequire(import.meta.url).resolve('esbuild/package.json')); } catch { /* not installed: the build says so */ }
  return out;
}

function indexFile(dir: string, entryAbs: string): string {
  return join(dir, `${sha256(`${entryAbs}\n${process.cwd()}`).slice(0, 32)}.json`);
}

/** The kept module for `entryAbs` when every recorded stamp holds. */
function cached(dir: string, entryAbs: string): string | undefined {
  let e: IndexEntry;
  try {
    e = JSON.parse(readFileSync(indexFile(dir, entryAbs), 'utf8')) as IndexEntry;
  } catch {
    return undefined;
  }
  if (e.version !== 1) return undefined;
  const file = join(dir, e.module);
  if (!existsSync(file)) return undefined;
  for (const s of e.files) {
    const now = stamp(s[0]);
    if (now[1] !== s[1] || now[2] !== s[2] || now[3] !== s[3]) return undefined;
  }
  return file;
}

interface Built {
  /** The entry module and its chunks, by path relative to the build directory. */
  readonly outputs: ReadonlyMap<string, string>;
  readonly entry: string;
  readonly stamps: readonly Stamp[];
  readonly startedMs: number;
}

/** Bundles the entry's own modules (see the module comment); throws {@link NotBundleable} when a file cannot be. */
async function build(entryAbs: string, outdir: string): Promise<Built> {
  // `outdir` is a sibling of the folder the outputs end up in: the source maps' relative paths hold
  const startedMs = Date.now();
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    throw new Error(`sluice: esbuild (a dependency of @sluice/executor) cannot be loaded: ${(e as Error).message}`);
  }
  const externals = new Set<string>();
  const r = await esbuild.build({
    entryPoints: [entryAbs],
    outdir,
    bundle: true,
    // a module imported with import() stays a module of its own, loaded when imported (with what it imports)
    splitting: true,
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    // no package.json beside the outputs says they are ES modules
    outExtension: { '.js': '.mjs' },
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    keepNames: true,
    // Node's own resolution: `exports` with node/import/default, then `main` (not esbuild's `module`)
    conditions: [],
    mainFields: ['main'],
    // beside each output (read by Node only with source maps enabled, and by mapStack on a load error)
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: 'silent',
    charset: 'utf8',
    plugins: [{
      name: 'sluice-load',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, async (a) => {
          if (a.pluginData === 'sluice') return undefined;
          if (isBuiltin(a.path)) return { path: a.path, external: true };
          if (a.kind === 'dynamic-import') throw new NotBundleable(`${a.importer}: import() of a package`);
          const got = await b.resolve(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: 'sluice' });
          if (got.errors.length || got.external || got.namespace !== 'file') return got.errors.length ? { errors: got.errors } : { path: got.path, external: got.external, namespace: got.namespace };
          if (inNodeModules(got.path) && !TYPESCRIPT.test(got.path)) {
            const m = nearestManifest(got.path);
            if (m) externals.add(m);
            return { path: pathToFileURL(got.path).href, external: true };
          }
          return { path: got.path };
        });
        b.onLoad({ filter: SOURCE }, (a) => {
          const text = readFileSync(a.path, 'utf8');
          const bad = UNBUNDLEABLE.exec(text);
          if (bad) throw new NotBundleable(`${a.path}: ${bad[0]}`);
          const ext = extname(a.path).slice(1);
          const loader = (ext.endsWith('x') ? ext : ext.replace(/^[cm]/, '')) as 'ts' | 'js' | 'tsx' | 'jsx';
          if (!text.includes('import.meta')) return { contents: text, loader };
          // the module's own import.meta (the bundle's would be the built file's); declared on the first line, so lines keep their numbers
          const meta = `var __sluiceMeta = ${JSON.stringify({ url: pathToFileURL(a.path).href, dirname: dirname(a.path), filename: a.path })};`;
          const body = text.replace(/\bimport\.meta\b/g, '__sluiceMeta');
          const shebang = body.startsWith('#!') ? body.indexOf('\n') + 1 : 0;
          return { contents: `${body.slice(0, shebang)}${meta}${body.slice(shebang)}`, loader };
        });
      },
    }],
  }).catch((e: unknown) => {
    // a plugin's NotBundleable comes back inside esbuild's failure
    const errs = (e as { errors?: { detail?: unknown; text?: string }[] }).errors;
    const nb = errs?.map((x) => x.detail).find((d) => d instanceof NotBundleable);
    throw nb ?? e;
  });
  const outputs = new Map(r.outputFiles.map((o) => [relative(outdir, o.path), o.text]));
  const entry = `${basename(entryAbs, extname(entryAbs))}.mjs`;
  if (!outputs.has(entry)) throw new Error('esbuild produced no entry module');
  const files = Object.keys(r.metafile.inputs).map((i) => resolve(process.cwd(), i));
  // package.json and tsconfig.json from each bundled file's folder up to the root, present or absent
  const around: string[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    for (let d = dir; ; d = dirname(d)) {
      around.push(join(d, 'package.json'), join(d, 'tsconfig.json'));
      if (dirname(d) === d) break;
    }
  }
  const root = projectRoot(entryAbs);
  const stamps = [...new Set([...files, ...around, ...externals, ...LOCKFILES.map((l) => join(root, l)), ...toolFiles()])].sort().map(stamp);
  return { outputs, entry, stamps, startedMs };
}

/**
 * Imports the pipeline module `file` through its bundle (see the module comment) and returns its
 * namespace, or undefined when a file of its graph cannot be bundled faithfully (load it with tsx).
 * An error thrown while it loads names the user's files and lines; `sourceMaps` (a step) also
 * turns on Node's source maps for what runs later.
 *
 * @example
 * const mod = await importThroughBundle('pipelines/train.ts'); // { default: Pipeline } or undefined
 */
export async function importThroughBundle(file: string, o: { readonly sourceMaps?: boolean } = {}): Promise<Record<string, unknown> | undefined> {
  const abs = resolve(file);
  const dir = loadDir();
  if (!dir) return undefined;
  let module = cached(dir, abs);
  if (!module) {
    let b: Built;
    try {
      b = await build(abs, join(dir, 'build'));
      if (process.env.SLUICE_DEBUG === '1') process.stderr.write(`sluice: ${file}: built with esbuild\n`);
    } catch (e) {
      if (e instanceof NotBundleable) {
        if (process.env.SLUICE_DEBUG === '1') process.stderr.write(`sluice: ${file} loads through tsx: ${e.message}\n`);
        return undefined;
      }
      throw e;
    }
    const hash = sha256(JSON.stringify([...b.outputs].sort())).slice(0, 32);
    const rel = join(hash, b.entry);
    module = join(dir, rel);
    if (!existsSync(module)) {
      // written whole under another name, then renamed: a reader sees all of it or none
      const tmp = join(dir, `${hash}.${process.pid}.tmp`);
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { mode: 0o700 });
      for (const [name, text] of b.outputs) writeFileSync(join(tmp, name), text, { mode: 0o600 });
      try {
        renameSync(tmp, join(dir, hash));
      } catch {
        rmSync(tmp, { recursive: true, force: true }); // another process wrote the same outputs first
      }
    }
    // a file written in the last second may have changed while esbuild read it: not recorded
    if (!b.stamps.some((s) => s[1] >= 0 && Number(BigInt(s[2]) / 1_000_000n) >= b.startedMs - 1000)) {
      const idx = indexFile(dir, abs);
      const entry: IndexEntry = { version: 1, module: rel, files: b.stamps };
      try {
        writeFileSync(`${idx}.${process.pid}.tmp`, JSON.stringify(entry), { mode: 0o600 });
        renameSync(`${idx}.${process.pid}.tmp`, idx);
      } catch { /* not kept: the next load builds again */ }
    }
  }
  // a step's stack traces name the user's files and lines (Node reads the map beside the module)
  if (o.sourceMaps) process.setSourceMapsEnabled(true);
  try {
    return (await import(pathToFileURL(module).href)) as Record<string, unknown>;
  } catch (e) {
    throw mapStack(e, dir);
  }
}

/** An error thrown while a built module loaded, its frames in built files mapped to the user's files and lines. */
function mapStack(e: unknown, dir: string): unknown {
  if (!(e instanceof Error) || typeof e.stack !== 'string') return e;
  const maps = new Map<string, SourceMap | undefined>();
  const mapped = e.stack.replace(/(file:\/\/[^\s()]+?\.mjs):(\d+):(\d+)/g, (all, url: string, line: string, col: string) => {
    let file: string;
    try { file = fileURLToPath(url); } catch { return all; }
    if (!file.startsWith(dir + sep)) return all;
    if (!maps.has(file)) {
      try { maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')) as never)); } catch { maps.set(file, undefined); }
    }
    const hit = maps.get(file)?.findEntry(Number(line) - 1, Number(col) - 1) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (!hit?.originalSource || hit.originalLine === undefined || hit.originalColumn === undefined) return all;
    const src = hit.originalSource.startsWith('file:') ? fileURLToPath(hit.originalSource) : resolve(dirname(file), hit.originalSource);
    return `${pathToFileURL(src).href}:${hit.originalLine + 1}:${hit.originalColumn + 1}`;
  });
  try { e.stack = mapped; } catch { /* a frozen error keeps its stack */ }
  return e;
}
