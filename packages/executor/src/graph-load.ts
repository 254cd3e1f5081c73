/**
 * How a pipeline file is imported, by `sluice compile` and by `sluice exec` (a pod, a local step)
 * alike: each of the pipeline's own modules (every file of its module graph that is not a
 * JavaScript file inside `node_modules`: the project, TypeScript workspace packages) is built by
 * esbuild into an ES module of its own, with fixed options (target node20, names kept), and the
 * entry's is imported with plain `node`; packages in `node_modules` load as Node loads them (an
 * import of a package stays as written; each built module sits at its source's absolute path under
 * the build folder, beside links to the `node_modules` folders its source would resolve from, so
 * Node finds the same files; a static import of a CommonJS package goes through a shim that requires
 * it, see {@link cjsShim}). Component hashes cover
 * each `run` function's source as loaded, so one loader on both sides makes them equal by
 * construction, whatever loader the calling process has; and since each module is built alone, a
 * function's source depends on its own file only (not on which entry reached it). tsx (a hooks
 * thread every import goes through) stays off the hot path.
 *
 * What cannot be loaded so as Node or tsx would load it (free `__dirname`, `__filename` or
 * `require`, `import.meta` beyond `url`/`dirname`/`filename`, a project file that is not a module,
 * such as JSON) makes the pipeline load through
 * tsx instead: the decision depends on the sources only, so both sides take the same one. Each
 * built module's `import.meta.url` (`.dirname`, `.filename`) is its own source file's. Not
 * carried: an `import()` of a computed relative specifier resolves from the built module, where no
 * sources are (a literal one is built; a package, computed or not, resolves as from the source).
 *
 * The built modules are kept in the user's cache directory (`$SLUICE_CACHE`, else
 * `$XDG_CACHE_HOME/sluice`, else `~/.cache/sluice`; the system's temporary directory when that
 * cannot be written), in a folder named by their content, with an index entry per entry file
 * recording the stamps (path, size, mtime and ctime in nanoseconds; absent files too) of what they
 * were built from: the project files, each package.json and tsconfig.json from their folders up to
 * the root, the nearest package.json of every package they import, the lockfiles at the project
 * root, the lockfiles nearest the entry, esbuild's package.json and this module, and the module-graph
 * code hash of what was built ({@link moduleGraphHash}). While every stamp holds, a load imports the
 * kept modules, and the code hash is answered, without esbuild. A build prunes the directory at most
 * once a day: index entries whose stamps no longer hold, built folders no live entry names and no
 * load used for a week, temporary folders of builds that died (see `prune`). Not watched: a new file that would change how an import resolves while
 * no recorded file changes (as for the code-hash cache).
 */
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin, SourceMap } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { makeDir, writeCacheFile } from './paths.ts';

/** One file's stamp: path (absolute), size (-1: absent), mtime and ctime in nanoseconds (as decimal text). */
export type Stamp = readonly [file: string, size: number, mtimeNs: string, ctimeNs: string];

interface IndexEntry {
  readonly version: 2;
  /** The built entry module, relative to the cache directory (`<content hash>/<entry>.js`, its chunks beside it). */
  readonly module: string;
  /** The module-graph code hash of what was built (see {@link moduleGraphHash}). */
  readonly codeHash: string;
  readonly files: readonly Stamp[];
}

/** Why a file cannot be bundled faithfully (then tsx loads the pipeline). */
export class NotBundleable extends Error {
  override readonly name = 'NotBundleable';
  /** The stamps of the files the decision was made from (set by the build): it holds while they do. */
  stamps: readonly Stamp[] = [];
}

/** The lockfiles that pin a project's packages, by name, as looked for in a folder. */
export const LOCKFILES: readonly string[] = ['pnpm-lock.yaml', 'package-lock.json', 'yarn.lock', 'bun.lock'];
/** The name prefix of the modules through which built modules import CommonJS packages (see {@link cjsShim}). */
const CJS_SHIM = '.sluice-cjs-';
const SOURCE = /\.(c|m)?[jt]sx?$/;
const TYPESCRIPT = /\.(c|m)?tsx?$/;
// What a built module cannot give its code as Node or tsx would, looked for in the built code (what
// runs): free references to CommonJS's own names and import.meta beyond url/dirname/filename
// (esbuild's define turns them into these names, so comments and strings do not count).
// (the names are put together, so that this module, built in a checkout, does not carry them)
const MARK = ['SLUICE', 'UNBUNDLEABLE', ''].join('_');
const META = ['__sluice', 'Meta'].join('');
const FREE = { __dirname: `${MARK}dirname`, __filename: `${MARK}filename`, require: `${MARK}require` };
const UNBUNDLEABLE = new RegExp(`\\b${MARK}(\\w+)|(?<!var )\\b${META}\\d*\\b(?!\\.(?:url|dirname|filename)\\b)`);

/** When a stamped file was last modified, in milliseconds since the epoch. */
export function stampMtimeMs(s: Stamp): number {
  return Number(BigInt(s[2] || '0') / 1_000_000n);
}

const STAMP_TIME = /^\d*$/;
/** Whether `x` has the shape of a {@link Stamp} (read back from a cache file, where it may be damaged). */
export function isStamp(x: unknown): x is Stamp {
  return Array.isArray(x) && x.length === 4 && typeof x[0] === 'string' && Number.isInteger(x[1]) && typeof x[2] === 'string' && STAMP_TIME.test(x[2]) && typeof x[3] === 'string' && STAMP_TIME.test(x[3]);
}

/**
 * An index entry as read from disk, or undefined when it is not one this loader wrote (another
 * version's, or damaged): a module path inside its built folder, a code hash, stamps. Such a file
 * is a miss, never imported from or trusted.
 */
function indexEntry(text: string): IndexEntry | undefined {
  let e: Partial<IndexEntry> | null;
  try { e = JSON.parse(text) as Partial<IndexEntry> | null; } catch { return undefined; }
  if (typeof e !== 'object' || e === null || e.version !== 2) return undefined;
  const { module, codeHash, files } = e;
  if (typeof module !== 'string' || !/^[0-9a-f]{32}[\\/]/.test(module) || module.split(/[\\/]/).includes('..') || module.includes('\0')) return undefined;
  if (typeof codeHash !== 'string' || !/^[0-9a-f]{64}$/.test(codeHash)) return undefined;
  if (!Array.isArray(files) || !files.every(isStamp)) return undefined;
  return { version: 2, module, codeHash, files };
}

/** The built folder (under the cache directory) an index entry's module is in. */
function folderOf(module: string): string {
  return module.split(/[\\/]/)[0]!;
}

/** The stamp of `file` now (size -1 and empty times when it is absent or unreadable). */
export function stamp(file: string): Stamp {
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
      makeDir(d, 0o700);
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

function holds(stamps: readonly Stamp[]): boolean {
  for (const s of stamps) {
    const now = stamp(s[0]);
    if (now[1] !== s[1] || now[2] !== s[2] || now[3] !== s[3]) return false;
  }
  return true;
}

/** How long a built folder no live index entry names is kept since its last use (a process that loaded it may still import from it). */
const UNUSED_KEPT_MS = 7 * 24 * 3600_000;
/** How long a dead index entry or a build's temporary folder is kept (another process may be writing it). */
const IN_FLIGHT_MS = 3600_000;
/** How often the cache directory is pruned (on a build, never on a kept load). */
const PRUNE_EVERY_MS = 24 * 3600_000;

/**
 * Removes from the cache directory what no load can use again: index entries whose stamps no
 * longer hold (their entry changed: the next load builds anew), built folders that no live entry
 * names and no process used for {@link UNUSED_KEPT_MS}, and temporary folders of builds that died.
 * At most once per {@link PRUNE_EVERY_MS} (a `.pruned` marker's mtime), after a build; errors
 * leave things as they are (another process may prune at the same time).
 */
function prune(dir: string, nowMs = Date.now()): void {
  const marker = join(dir, '.pruned');
  try {
    if (nowMs - statSync(marker).mtimeMs < PRUNE_EVERY_MS) return;
  } catch { /* never pruned */ }
  try { writeFileSync(marker, '', { mode: 0o600 }); } catch { return; }
  const age = (p: string): number => { try { return nowMs - statSync(p).mtimeMs; } catch { return -1; } };
  const live = new Set<string>();
  const names = readdirSync(dir);
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const p = join(dir, name);
    let e: IndexEntry | undefined;
    try { e = indexEntry(readFileSync(p, 'utf8')); } catch { /* unreadable: dead */ }
    if (e && existsSync(join(dir, e.module)) && holds(e.files)) live.add(folderOf(e.module));
    else if (age(p) > IN_FLIGHT_MS) rmSync(p, { force: true });
  }
  for (const name of names) {
    const p = join(dir, name);
    if (name.endsWith('.tmp')) {
      if (age(p) > IN_FLIGHT_MS) rmSync(p, { recursive: true, force: true });
    } else if (/^[0-9a-f]{32}$/.test(name) && !live.has(name) && age(p) > UNUSED_KEPT_MS) {
      rmSync(p, { recursive: true, force: true });
    }
  }
}

/** The kept module for `entryAbs` and its code hash, when every recorded stamp holds. */
function cached(dir: string, entryAbs: string): Prepared | undefined {
  let e: IndexEntry | undefined;
  try {
    e = indexEntry(readFileSync(indexFile(dir, entryAbs), 'utf8'));
  } catch {
    return undefined;
  }
  if (!e) return undefined;
  const file = join(dir, e.module);
  if (!existsSync(file) || !holds(e.files)) return undefined;
  // the folder's mtime is its last use: pruning keeps what a process may still import from
  try { const now = new Date(); utimesSync(join(dir, folderOf(e.module)), now, now); } catch { /* read-only: kept as built */ }
  return { module: { file, dir }, codeHash: e.codeHash, stamps: e.files, kept: true };
}

interface Built {
  /** The entry module and its chunks, by path relative to the build directory. */
  readonly outputs: ReadonlyMap<string, string>;
  readonly entry: string;
  /** See {@link moduleGraphHash}. */
  readonly codeHash: string;
  readonly stamps: readonly Stamp[];
  readonly startedMs: number;
  /** `node_modules` links beside the outputs: path relative to the build folder → the folder it links to. */
  readonly links: ReadonlyMap<string, string>;
}

/**
 * How a failed esbuild build (with `absWorkingDir` `root`) is thrown: a plugin's NotBundleable
 * inside it as that NotBundleable, else the first located message at its place in the file.
 */
const unwrap = (root: string) => (e: unknown): never => {
  const errs = (e as { errors?: import('esbuild').Message[] }).errors;
  const inner = errs?.map((x) => x.detail as unknown).find((d) => d instanceof NotBundleable);
  if (inner) throw inner;
  // a syntax error, an import that resolves to nothing: at its place in the user's file (a stack
  // frame, as a thrown error's is), not at esbuild's
  const at = errs?.find((x) => x.location);
  if (e instanceof Error && at?.location) {
    const more = errs!.length > 1 ? ` (and ${errs!.length - 1} more)` : '';
    const located = new Error(`${at.text}${more}`, { cause: e });
    located.stack = `Error: ${located.message}\n    at ${resolve(root, at.location.file)}:${at.location.line}:${at.location.column + 1}\n${e.stack ?? ''}`;
    throw located;
  }
  throw e;
};

/** A project file's text for esbuild, with its own import.meta. */
function loadSource(path: string): { contents: string; loader: 'ts' | 'js' | 'tsx' | 'jsx' } {
  const text = readFileSync(path, 'utf8');
  const ext = extname(path).slice(1);
  const loader = (ext.endsWith('x') ? ext : ext.replace(/^[cm]/, '')) as 'ts' | 'js' | 'tsx' | 'jsx';
  if (!text.includes('import.meta')) return { contents: text, loader };
  // the module's own import.meta (the built file's would be its own); declared on the first line, so lines keep their numbers
  const meta = `var ${META} = ${JSON.stringify({ url: pathToFileURL(path).href, dirname: dirname(path), filename: path })};`;
  // (esbuild's define points each import.meta expression at it; comments and strings keep theirs)
  const shebang = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
  return { contents: `${text.slice(0, shebang)}${meta}${text.slice(shebang)}`, loader };
}

/**
 * Builds the entry's own modules (see the module comment), one output module per file: a first
 * pass finds them (esbuild's resolution, packages left outside), a second builds each with every
 * import left outside it (another project file: its output, by a relative path; a package: its
 * file URL). So a function's source depends on its own file only, whatever entry the file is
 * reached from. Throws `NotBundleable` when a file cannot be loaded so.
 */
async function build(entryAbs: string, outdir: string): Promise<Built> {
  // `outdir` is a sibling of the folder the outputs end up in: the source maps' relative paths hold
  const startedMs = Date.now();
  let esbuild: typeof import('esbuild');
  try {
    // required, not imported: an import of its CommonJS entry runs Node's export lexer over it
    // first (about 250M instructions here, against 50M for the require)
    esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  } catch (e) {
    throw new Error(`sluice: esbuild (a dependency of @sluice/executor) cannot be loaded: ${(e as Error).message}`);
  }
  const externals = new Set<string>();
  const own = new Set<string>();
  const root = projectRoot(entryAbs);
  const shared: import('esbuild').BuildOptions & { write: false } = {
    // the paths esbuild writes in comments are relative to it: the same wherever the command runs
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    keepNames: true,
    // Node's own resolution: `exports` with node/import/default, then `main` (not esbuild's `module`)
    conditions: [],
    mainFields: ['main'],
    logLevel: 'silent',
    charset: 'utf8',
    define: { ...FREE, 'import.meta': META },
  };
  type Resolve = (path: string, o: { kind: import('esbuild').ImportKind; importer: string; resolveDir: string; pluginData: unknown }) => Promise<import('esbuild').ResolveResult>;
  /** Where an import goes: a built-in or a package (outside), or a file of the project (undefined: resolved). */
  const place = async (res: Resolve, a: import('esbuild').OnResolveArgs): Promise<{ outside: string; cjs?: string } | { own: string } | { errors: import('esbuild').PartialMessage[] }> => {
    if (isBuiltin(a.path)) return { outside: a.path };
    const got = await res(a.path, { kind: a.kind, importer: a.importer, resolveDir: a.resolveDir, pluginData: 'sluice' });
    if (got.errors.length) return { errors: got.errors };
    if (got.external || got.namespace !== 'file') throw new NotBundleable(`${a.importer}: ${a.path} is not a file`);
    if (inNodeModules(got.path) && !TYPESCRIPT.test(got.path)) {
      // the specifier as written: Node resolves it from the built module as from the source (see linkPackages)
      if (!/^[^./]/.test(a.path)) throw new NotBundleable(`${a.importer}: ${a.path} is a path into node_modules`);
      const m = nearestManifest(got.path);
      if (m) externals.add(m);
      return { outside: a.path, ...(a.kind === 'import-statement' && isCommonJs(got.path) ? { cjs: got.path } : {}) };
    }
    if (!SOURCE.test(got.path)) throw new NotBundleable(`${a.importer}: ${a.path} is not a module esbuild builds as a file of its own`);
    return { own: got.path };
  };
  // both builds place every import the same way (the second takes the first's answers: no
  // round trip to esbuild's resolver); they differ in what a project file becomes
  const placed = new Map<string, ReturnType<typeof place>>();
  const placeOnce = (res: Resolve, a: import('esbuild').OnResolveArgs): ReturnType<typeof place> => {
    const key = `${a.kind}\0${a.importer}\0${a.resolveDir}\0${a.path}`;
    let p = placed.get(key);
    if (!p) placed.set(key, (p = place(res, a)));
    return p;
  };
  const placing: Placing = (name, ownFile, cjsFile) => ({
    name,
    setup(b) {
      b.onResolve({ filter: /.*/ }, async (a) => {
        if (a.pluginData === 'sluice' || a.kind === 'entry-point') return undefined;
        const p = await placeOnce(b.resolve.bind(b), a);
        if ('errors' in p) return { errors: p.errors };
        if ('outside' in p) return (p.cjs !== undefined && cjsFile ? cjsFile(p.cjs, a.importer) : undefined) ?? { path: p.outside, external: true };
        return ownFile(p.own, a.importer);
      });
      b.onLoad({ filter: SOURCE }, (a) => loadSource(a.path));
    },
  });
  own.add(entryAbs);
  try {
    return await buildOwn(esbuild, entryAbs, outdir, shared, placing, own, externals, root, startedMs);
  } catch (e) {
    // what the decision was made from: the files found so far (the one that decided among them)
    if (e instanceof NotBundleable) e.stamps = stampsOf(entryAbs, root, [...own], [...externals], []);
    throw e;
  }
}

/** The stamps a build holds under: its files, the package.json and tsconfig.json around them, the packages' manifests, the lockfiles, the tools. */
function stampsOf(entryAbs: string, root: string, files: readonly string[], manifests: readonly string[], lockfilesLooked: readonly string[]): Stamp[] {
  // package.json and tsconfig.json from each file's folder up to the root, present or absent
  const around: string[] = [];
  for (const dir of new Set(files.map((f) => dirname(f)))) {
    for (let d = dir; ; d = dirname(d)) {
      around.push(join(d, 'package.json'), join(d, 'tsconfig.json'));
      if (dirname(d) === d) break;
    }
  }
  return [...new Set([entryAbs, ...files, ...around, ...manifests, ...lockfilesLooked, ...LOCKFILES.map((l) => join(root, l)), ...toolFiles()])].sort().map(stamp);
}

type Placing = (name: string, ownFile: (file: string, importer: string) => import('esbuild').OnResolveResult, cjsFile?: (file: string, importer: string) => import('esbuild').OnResolveResult) => import('esbuild').Plugin;

async function buildOwn(esbuild: typeof import('esbuild'), entryAbs: string, outdir: string, shared: import('esbuild').BuildOptions & { write: false }, placing: Placing, own: Set<string>, externals: Set<string>, root: string, startedMs: number): Promise<Built> {
  /** CommonJS shims, by output path (relative to the build folder) → the package file they require. */
  const shims = new Map<string, string>();
  // 1. the project's files
  await esbuild.build({
    ...shared,
    entryPoints: [entryAbs],
    outdir,
    plugins: [placing('sluice-find', (file) => { own.add(file); return { path: file }; })],
  }).catch(unwrap(root));
  // 2. one module per file, every import outside it
  const r = await esbuild.build({
    ...shared,
    entryPoints: [...own].sort(),
    outdir,
    // each built module at its source's absolute path under the folder (see linkPackages)
    outbase: '/',
    entryNames: '[dir]/[name]',
    // no package.json beside the outputs says they are ES modules
    outExtension: { '.js': '.mjs' },
    // beside each output (read by Node only with source maps enabled, and by mapStack on a load error)
    sourcemap: 'linked',
    sourcesContent: false,
    plugins: [placing('sluice-split', (file, importer) => {
      const rel = relative(dirname(importer), file).split(sep).join('/').replace(SOURCE, '.mjs');
      return { path: rel.startsWith('.') ? rel : `./${rel}`, external: true };
    }, (file, importer) => {
      // a CommonJS package: through a small module beside the importer that requires it (see cjsShim)
      const shim = `${CJS_SHIM}${sha256(relative(root, file).split(sep).join('/')).slice(0, 16)}.mjs`;
      shims.set(relative('/', join(dirname(importer), shim)), file);
      return { path: `./${shim}`, external: true };
    })],
  }).catch(unwrap(root));
  const outputs = new Map((r.outputFiles ?? []).map((o) => [relative(outdir, o.path), o.text]));
  for (const [name, text] of outputs) {
    const bad = name.endsWith('.mjs') ? UNBUNDLEABLE.exec(text) : null;
    if (bad) throw new NotBundleable(`${name} uses ${bad[1] ? (bad[1] === 'require' ? 'require()' : `__${bad[1]}`) : 'import.meta beyond url, dirname and filename'}`);
  }
  const lexed = new Set<string>();
  for (const [name, file] of shims) outputs.set(name, cjsShim(file, lexed));
  const files = [...own].sort();
  const entry = relative('/', entryAbs).replace(SOURCE, '.mjs');
  if (!outputs.has(entry)) throw new Error(`esbuild produced no module for ${entryAbs}`);
  const packages = [...externals].map(packageIdentity);
  const locks = lockfiles(entryAbs);
  const codeHash = graphHash(root, relative(root, entryAbs), outputs, packages.map((p) => p.id), locks.present);
  const stamps = stampsOf(entryAbs, root, files, [...externals, ...packages.map((p) => p.manifest), ...lexed], locks.looked);
  return { outputs, entry, codeHash, stamps, startedMs, links: linkPackages(files) };
}

/**
 * Whether Node loads `file` (a package's file, as an `import` resolves it) as CommonJS: `.cjs`, or
 * `.js` under a package.json without `"type": "module"` and with no ES module syntax at the start
 * of a line (Node 20.19+ detects such a file as an ES module; left to Node then).
 */
function isCommonJs(file: string): boolean {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  const m = nearestManifest(file);
  try {
    if (m && (JSON.parse(readFileSync(m, 'utf8')) as { type?: unknown }).type === 'module') return false;
    return !/^[ \t]*(?:import(?=[ \t]*["'{*]|[ \t]+[\w$])|export(?=[ \t]*[{*]|[ \t]+[\w$]))/m.test(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * The names Node gives an ES module's import of the CommonJS module `file`: what its lexer
 * (cjs-module-lexer, the one Node carries) finds exported, with those of every module it
 * re-exports, as Node's own translator collects them. `lexed` gathers the files read.
 */
function cjsExportNames(file: string, lexed: Set<string>, names = new Set<string>()): Set<string> {
  if (lexed.has(file)) return names;
  lexed.add(file);
  const { parse } = createRequire(import.meta.url)('cjs-module-lexer') as typeof import('cjs-module-lexer');
  let found: { exports: readonly string[]; reexports: readonly string[] };
  try {
    found = parse(readFileSync(file, 'utf8'), file);
  } catch {
    return names;
  }
  for (const n of found.exports) names.add(n);
  const req = createRequire(file);
  for (const r of found.reexports) {
    let to: string;
    try { to = req.resolve(r); } catch { continue; }
    const ext = extname(to);
    if ((ext === '.js' || ext === '.cjs' || !['.json', '.node', '.mjs'].includes(ext)) && to.startsWith('/')) cjsExportNames(to, lexed, names);
  }
  return names;
}

/**
 * The module through which a built module imports the CommonJS package file `file`: it requires
 * it (Node's CommonJS loader, the same module instance an import gets) and exports what Node's
 * import would: `module.exports` as the default, and each name Node's lexer finds, read once the
 * module has run. An import of a CommonJS file otherwise runs Node's export lexer over it (and
 * over what it re-exports) in every process that imports it, which costs more than loading it:
 * the quickstart's three ML packages take 921M instructions imported, 590M required (node -e 0:
 * ~506M). The lexer runs here once per build.
 */
function cjsShim(file: string, lexed: Set<string>): string {
  const names = [...cjsExportNames(file, lexed)].filter((n) => n !== 'default').sort();
  return [
    `// ${basename(file)} (CommonJS), as an ES module's import of it gets it`,
    "import { createRequire } from 'node:module';",
    `const m = createRequire(import.meta.url)(${JSON.stringify(file)});`,
    'export default m;',
    ...(names.length ? [
      `const ${names.map((n, i) => `e${i} = m?.[${JSON.stringify(n)}]`).join(', ')};`,
      `export { ${names.map((n, i) => `e${i} as ${JSON.stringify(n)}`).join(', ')} };`,
    ] : []),
    '',
  ].join('\n');
}

/**
 * A package's identity for the code hash: `name@version` from its package.json (the nearest one
 * upwards of `manifest` with a name; a package may carry nameless ones, such as `esm/package.json`),
 * else the manifest's path and content.
 */
function packageIdentity(manifest: string): { id: string; manifest: string } {
  for (let m: string | undefined = manifest; m; ) {
    try {
      const j = JSON.parse(readFileSync(m, 'utf8')) as { name?: unknown; version?: unknown };
      if (typeof j.name === 'string' && j.name) return { id: `${j.name}@${typeof j.version === 'string' ? j.version : ''}`, manifest: m };
    } catch { /* unreadable: the next one up */ }
    const dir = dirname(m);
    const up = basename(dirname(dir));
    // the package's own folder (node_modules/<name>, node_modules/@scope/<name>) is as far as it goes
    if (up === 'node_modules' || (up.startsWith('@') && basename(dirname(dirname(dir))) === 'node_modules') || !inNodeModules(dir)) break;
    m = nearestManifest(dir);
  }
  let text = '';
  try { text = readFileSync(manifest, 'utf8'); } catch { /* absent */ }
  return { id: `(unnamed)#${sha256(text)}`, manifest };
}

/**
 * The lockfiles that pin the graph's packages: those in the nearest folder upwards of the entry
 * that has one (a workspace's root, a project's own folder). `looked`: every place looked in,
 * present or not (stamped, so a new lockfile nearer the entry is seen).
 */
function lockfiles(entryAbs: string): { present: [name: string, sha: string][]; looked: string[] } {
  const looked: string[] = [];
  for (let d = dirname(entryAbs); ; d = dirname(d)) {
    const here = LOCKFILES.map((l) => join(d, l));
    looked.push(...here);
    const present = here.filter((f) => existsSync(f)).map((f): [string, string] => [basename(f), sha256(readFileSync(f, 'utf8'))]);
    if (present.length || dirname(d) === d) return { present, looked };
  }
}

/**
 * The module-graph code hash: sha256 over the built modules (each by its path relative to the
 * project root, with that root's absolute path, which `import.meta` carries, written as `<root>`),
 * the identity of every package they import ({@link packageIdentity}) and the lockfiles' content
 * ({@link lockfiles}). So it is the same wherever the checkout is, from whichever folder the
 * command runs, and whatever the cache directory.
 */
function graphHash(root: string, entry: string, outputs: ReadonlyMap<string, string>, packages: readonly string[], locks: readonly (readonly [string, string])[]): string {
  const rootUrl = pathToFileURL(root).href;
  const modules = [...outputs]
    // (a CommonJS shim stands for its package, whose identity is hashed)
    .filter(([name]) => name.endsWith('.mjs') && !basename(name).startsWith(CJS_SHIM))
    .map(([name, text]) => [relative(root, join('/', name)).split(sep).join('/'), sha256(text.replaceAll(rootUrl, 'file://<root>').replaceAll(root, '<root>'))])
    .sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0));
  return sha256(JSON.stringify({ graph: 1, entry: entry.split(sep).join('/'), modules, packages: [...new Set(packages)].sort(), lockfiles: locks }));
}

/**
 * Links `rel` (under `tmp`) to `to`; where built modules are under `rel` (the sources of a
 * TypeScript package inside node_modules), a folder of links to each of `to`'s entries instead.
 */
function link(tmp: string, rel: string, to: string, outDirs: ReadonlySet<string>): void {
  const at = join(tmp, rel);
  if (!outDirs.has(rel)) {
    if (existsSync(at)) return; // a built module of the same name
    mkdirSync(dirname(at), { recursive: true, mode: 0o700 });
    symlinkSync(to, at);
    return;
  }
  mkdirSync(at, { recursive: true, mode: 0o700 });
  for (const e of readdirSync(to)) link(tmp, join(rel, e), join(to, e), outDirs);
}

/**
 * The `node_modules` folders a package import of one of `files` may be resolved from: every one
 * in their folders and those folders' ancestors, by the path (relative to `/`) its link takes
 * beside the built modules. Each built module sits at its source's absolute path under the build
 * folder, so with these links Node resolves a package from it through the same `node_modules`
 * folders, in the same order, as from the source file.
 */
function linkPackages(files: readonly string[]): Map<string, string> {
  const links = new Map<string, string>();
  const seen = new Set<string>();
  for (const f of files) {
    for (let d = dirname(f); !seen.has(d); d = dirname(d)) {
      seen.add(d);
      const nm = join(d, 'node_modules');
      if (existsSync(nm)) links.set(relative('/', nm), nm);
      if (dirname(d) === d) break;
    }
  }
  return links;
}

/** How a pipeline module is imported. */
export interface LoadOptions {
  /** Turn on Node's source maps for what runs later (a step: its stack traces name the user's lines). */
  readonly sourceMaps?: boolean;
  /** Called once the modules are built (or found kept), before they are imported: other esbuild work may start then. */
  readonly onBuilt?: () => void;
}

/**
 * What a load needs: the built (or kept) entry module, absent when none could be written; the code
 * hash; the stamps it holds under. Or, for what the loader cannot load (`NotBundleable`),
 * only those stamps.
 */
type Prepared = {
  /** The built entry module and the cache directory it is in. */
  readonly module?: { readonly file: string; readonly dir: string };
  readonly codeHash: string;
  readonly stamps: readonly Stamp[];
  /** Found without esbuild: kept in the cache directory, or built earlier in this process. */
  readonly kept: boolean;
} | { readonly tsx: NotBundleable; readonly stamps: readonly Stamp[] };

// one build per entry and process: a compile starts it early and imports the pipeline and takes its
// code hash from it, a run loads it while hashing it; a build that could not be recorded (a file
// written in the last second) serves this process again while its stamps hold
const prepared = new Map<string, Promise<Prepared>>();

/** The entry's built modules and code hash (or that it goes through tsx), found at most once per process while their stamps hold. */
async function prepare(abs: string, file: string): Promise<Prepared> {
  const before = prepared.get(abs);
  if (before) {
    const p = await before.catch(() => undefined);
    if (p && holds(p.stamps)) return 'tsx' in p ? p : { ...p, kept: true };
  }
  const now = prepareNow(abs, file);
  prepared.set(abs, now);
  return now;
}

/**
 * Starts finding the pipeline's built modules (kept, or built by esbuild, which runs in a process
 * of its own) without importing them, so that the caller loads other modules meanwhile; the next
 * {@link importThroughBundle} or {@link moduleGraphHash} of `file` in this process takes that
 * result. Errors are left to that call.
 *
 * @example
 * prefetchBuild('pipelines/train.ts'); // then import the compiler, the SDK…
 */
export function prefetchBuild(file: string): void {
  prepare(resolve(file), file).catch(() => { /* the load that uses it reports it */ });
}

async function prepareNow(abs: string, file: string): Promise<Prepared> {
  const dir = loadDir();
  const kept = dir ? cached(dir, abs) : undefined;
  if (kept) return kept;
  let b: Built;
  try {
    // (without a writable cache directory: built for the code hash only, nothing written)
    b = await build(abs, join(dir ?? join(tmpdir(), 'sluice-load-unwritable'), 'build'));
    if (process.env.SLUICE_DEBUG === '1') process.stderr.write(`sluice: ${file}: built with esbuild\n`);
  } catch (e) {
    if (e instanceof NotBundleable) {
      if (process.env.SLUICE_DEBUG === '1') process.stderr.write(`sluice: ${file} loads through tsx: ${e.message}\n`);
      return { tsx: e, stamps: e.stamps };
    }
    throw e;
  }
  if (!dir) return { codeHash: b.codeHash, stamps: b.stamps, kept: false };
  const hash = sha256(JSON.stringify([[...b.outputs].sort(), [...b.links].sort()])).slice(0, 32);
  for (const name of b.outputs.keys()) if (name.startsWith('..')) throw new Error(`esbuild wrote ${name} outside its folder`);
  const rel = join(hash, b.entry);
  const module = join(dir, rel);
  if (!existsSync(module)) {
    // written whole under another name, then renamed: a reader sees all of it or none
    const tmp = join(dir, `${hash}.${process.pid}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { mode: 0o700 });
    for (const [name, text] of b.outputs) {
      mkdirSync(dirname(join(tmp, name)), { recursive: true, mode: 0o700 });
      writeFileSync(join(tmp, name), text, { mode: 0o600 });
    }
    const outDirs = new Set<string>();
    for (const name of b.outputs.keys()) for (let d = dirname(name); d !== '.' && !outDirs.has(d); d = dirname(d)) outDirs.add(d);
    for (const [name, to] of b.links) link(tmp, name, to, outDirs);
    try {
      renameSync(tmp, join(dir, hash));
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another process wrote the same outputs first
    }
  }
  try { prune(dir); } catch { /* kept as it is: another process may be pruning */ }
  // a file written in the last second may have changed while esbuild read it: not recorded
  if (!b.stamps.some((s) => s[1] >= 0 && stampMtimeMs(s) >= b.startedMs - 1000)) {
    const entry: IndexEntry = { version: 2, module: rel, codeHash: b.codeHash, files: b.stamps };
    try {
      writeCacheFile(indexFile(dir, abs), JSON.stringify(entry));
    } catch { /* not kept: the next load builds again */ }
  }
  return { module: { file: module, dir }, codeHash: b.codeHash, stamps: b.stamps, kept: false };
}

/**
 * The module-graph code hash of the pipeline file `file`: the code part of local cache keys
 * (`sluice run`) and of Argo memoize keys (`sluice compile`, `sluice submit`), through
 * `@sluice/bundle`'s `pipelineCodeHash`. It is taken from what this loader builds: sha256 over
 * the built project modules (every file of the graph that is not a JavaScript file inside
 * `node_modules`: the project, TypeScript and workspace packages, so their content is covered),
 * `name@version` of each package in `node_modules` they import, the content of the lockfiles
 * nearest the entry (which pin the packages' own dependencies) and `exportName`. A change inside an
 * installed package shows only through its version or the lockfile. Kept with the built modules
 * (a kept load answers it without esbuild), shared with a load in the same process. Undefined
 * when the graph cannot be loaded so (`NotBundleable`: the caller hashes a full bundle).
 *
 * @example
 * const h = await moduleGraphHash('pipelines/train.ts'); // { hash: '3f2a…', kept: true } or undefined
 */
export async function moduleGraphHash(file: string, exportName?: string): Promise<{ readonly hash: string; readonly kept: boolean } | undefined> {
  const p = await prepare(resolve(file), file);
  return 'tsx' in p ? undefined : { hash: sha256(JSON.stringify([p.codeHash, exportName ?? 'default'])), kept: p.kept };
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
export async function importThroughBundle(file: string, o: LoadOptions = {}): Promise<Record<string, unknown> | undefined> {
  const p = await prepare(resolve(file), file);
  if ('tsx' in p || !p.module) return undefined;
  o.onBuilt?.();
  // a step's stack traces name the user's files and lines (Node reads the map beside the module)
  if (o.sourceMaps) process.setSourceMapsEnabled(true);
  try {
    return (await import(pathToFileURL(p.module.file).href)) as Record<string, unknown>;
  } catch (e) {
    throw mapStack(e, p.module.dir);
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
