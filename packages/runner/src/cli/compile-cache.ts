/**
 * The compile cache: a repeated `sluice compile` of code that did not change imports the
 * pipeline from one esbuild bundle with plain `node` (about 0.1 s) instead of through tsx's hooks
 * (a hooks thread every module's import goes through), and reads the module-graph hash without
 * loading esbuild. The pipeline still runs: what it builds may depend on the environment, and the
 * IR comes from running it each time.
 *
 * The catch is component hashes: they cover each `run` function's source as loaded, and a bundle
 * prints functions differently from tsx's per-file transform (what a pod's `sluice exec` sees). So
 * the first compile of a code version, through tsx, also imports the bundle, pairs each component's
 * function source in the bundle with its source under tsx (by component name), and keeps the pairs
 * only when the bundle, with its sources mapped, builds exactly the IR tsx built. A later import of
 * the bundle answers `Function.prototype.toString` from those pairs while the pipeline is built; a
 * function source that is not among them (the environment made another component) abandons the
 * bundle for tsx. In the bundle each project module's `import.meta.url` (`.dirname`, `.filename`)
 * is its own file's, as under tsx; code that reads `__dirname`, `__filename` or other parts of
 * `import.meta` is never bundled for this.
 *
 * An entry serves a compile when every file it recorded still has its stamp (path, size, mtime and
 * ctime in nanoseconds, as `code-hashes.json`): the bundle's module graph, each package.json from a
 * project file's folder up to the root and each tsconfig.json from the working directory up
 * (present or absent: a new one misses), the lockfiles at the root, tsx's and esbuild's
 * package.json. Not watched, as for `code-hashes.json`: a new file that would change how an import
 * resolves while no recorded file changes. Kept in `<store>/compile-cache/`, the 8 latest entries.
 */
import { canonicalJson, sha256 } from '@sluice/sdk/semantics';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** path, size (-1: absent), mtime and ctime in nanoseconds */
type Stamp = readonly [file: string, size: number, mtimeNs: string, ctimeNs: string];

interface Entry {
  readonly version: 1;
  readonly codeHash: string;
  readonly bundle: string;
  readonly files: readonly Stamp[];
  /** [source in the bundle, source under tsx] */
  readonly texts: readonly (readonly [string, string])[];
}

const KEEP = 8;
const LOCKFILES = ['pnpm-lock.yaml', 'package-lock.json', 'yarn.lock', 'bun.lock'];

function stamp(file: string): Stamp {
  try {
    const s = statSync(file, { bigint: true });
    return [file, Number(s.size), String(s.mtimeNs), String(s.ctimeNs)];
  } catch {
    return [file, -1, '', ''];
  }
}

/** The cache's key: the entry, its export, the working directory (tsx reads tsconfig.json from it) and Node's version (tsx's target). */
export function cacheKey(entryAbs: string, exportName: string | undefined): string {
  return sha256(JSON.stringify([entryAbs, exportName ?? 'default', process.cwd(), process.version, process.env.TSX_TSCONFIG_PATH ?? ''])).slice(0, 32);
}

/** Files outside the module graph whose change changes what the entry records: tools, and tsconfig.json candidates. */
function toolFiles(): string[] {
  const req = createRequire(import.meta.url);
  const out: string[] = [];
  for (const f of [() => req.resolve('tsx/package.json'), () => createRequire(req.resolve('@sluice/bundle')).resolve('esbuild/package.json')]) {
    try { out.push(f()); } catch { /* not installed: nothing to stamp */ }
  }
  for (let d = process.cwd(); ; d = dirname(d)) {
    out.push(join(d, 'tsconfig.json'));
    if (dirname(d) === d) break;
  }
  return out;
}

/** The entry for `key` when every recorded file still has its stamp. */
export function cachedEntry(dir: string, key: string): Entry | undefined {
  let e: Entry;
  try {
    e = JSON.parse(readFileSync(join(dir, `${key}.json`), 'utf8')) as Entry;
  } catch {
    return undefined;
  }
  if (e.version !== 1 || !existsSync(join(dir, e.bundle))) return undefined;
  for (const s of e.files) {
    const now = stamp(s[0]);
    if (now[1] !== s[1] || now[2] !== s[2] || now[3] !== s[3]) return undefined;
  }
  return e;
}

/** Runs `fn` with `Function.prototype.toString` passed through `map` (recording every source it gives). */
async function withSources<T>(map: ((s: string) => string) | undefined, fn: () => Promise<T>): Promise<{ value: T; seen: string[] }> {
  const original = Function.prototype.toString;
  const seen: string[] = [];
  // eslint-disable-next-line no-extend-native
  Function.prototype.toString = function toString(this: unknown) {
    const s = original.call(this);
    seen.push(s);
    return map ? map(s) : s;
  };
  try {
    return { value: await fn(), seen };
  } finally {
    Function.prototype.toString = original;
  }
}

interface BundleModule {
  readonly user: Record<string, unknown>;
}

/** The pipeline a bundle module exports (as the tsx loader unwraps it). */
function exported(mod: BundleModule, exportName: string | undefined): unknown {
  const name = exportName ?? 'default';
  let value = mod.user[name];
  if (value === undefined && mod.user.default && typeof mod.user.default === 'object') value = (mod.user.default as Record<string, unknown>)[name];
  return value;
}

/**
 * Imports the entry's bundle with its function sources answered from the recorded pairs and builds
 * the pipeline; undefined when a source is not among them (then load through tsx).
 */
export async function importCached(dir: string, e: Entry, exportName: string | undefined, build: (p: unknown) => unknown): Promise<unknown> {
  const pairs = new Map(e.texts.map(([b, t]) => [b, t]));
  let missed = false;
  try {
    const { value } = await withSources((s) => {
      const t = pairs.get(s);
      if (t === undefined) missed = true;
      return t ?? s;
    }, async () => {
      const mod = (await import(pathToFileURL(join(dir, e.bundle)).href)) as BundleModule;
      const p = exported(mod, exportName);
      build(p); // component hashes are taken while it builds
      return p;
    });
    return missed ? undefined : value;
  } catch {
    return undefined; // tsx loads it again and reports what is wrong as usual
  }
}

/** Records `fn`'s function sources (a tsx import and build), by sha256. */
export async function recordSources<T>(fn: () => Promise<T>): Promise<{ value: T; sources: Map<string, string> }> {
  const { value, seen } = await withSources(undefined, fn);
  return { value, sources: new Map(seen.map((s) => [sha256(s), s])) };
}

/** The loadable bundle of the entry's module graph: one ESM file exporting the user's module as `user`. */
export interface LoadableBundle {
  readonly code: string;
  /** Absolute paths of the modules in it. */
  readonly files: readonly string[];
  /** The nearest folder upwards of the entry with `.git` or `pnpm-workspace.yaml` (lockfiles are stamped there). */
  readonly root: string;
}

/**
 * Bundles the entry with esbuild (the one `@sluice/bundle` uses). In each project module
 * `import.meta.url`, `.dirname` and `.filename` become the module's own (what tsx gives it), so
 * a path computed from them still points into the project.
 */
export async function bundleForCompile(entryAbs: string): Promise<LoadableBundle> {
  const { buildGraph, projectRoot } = await import('@sluice/bundle');
  const root = projectRoot(entryAbs);
  const r = await buildGraph({
    stdin: { contents: `export * as user from ${JSON.stringify(`./${basename(entryAbs)}`)};\n`, resolveDir: dirname(entryAbs), sourcefile: '<sluice-compile-entry>', loader: 'js' },
    absWorkingDir: root,
    plugins: [{
      name: 'sluice-import-meta',
      setup(b: { onLoad(o: { filter: RegExp }, f: (a: { path: string }) => { contents: string; loader: string } | undefined): void }) {
        b.onLoad({ filter: /\.(c|m)?[jt]sx?$/ }, (a) => {
          if (a.path.split(/[\\/]/).includes('node_modules')) return undefined;
          const text = readFileSync(a.path, 'utf8');
          if (!text.includes('import.meta')) return undefined;
          const ext = extname(a.path).slice(1);
          const loader = (ext.endsWith('x') ? ext : ext.replace(/^[cm]/, '')) as 'ts' | 'js' | 'tsx' | 'jsx';
          return {
            contents: text.replace(/\bimport\.meta\.(url|dirname|filename)\b/g, (_m, k: string) => JSON.stringify(k === 'url' ? pathToFileURL(a.path).href : k === 'dirname' ? dirname(a.path) : a.path)),
            loader,
          };
        });
      },
    }],
  });
  const out = r.outputFiles[0];
  if (!out) throw new Error('esbuild produced no output');
  const files = Object.keys(r.metafile.inputs).filter((i) => !i.includes('<')).map((i) => resolve(root, i.replace(/^[a-z-]+:/, '')));
  return { code: out.text, files, root };
}

/** name → code hash of every function component (nested pipelines included), names seen twice left out. */
function functionHashes(ir: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const twice = new Set<string>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') {
      const c = x as { kind?: unknown; name?: unknown; codeHash?: unknown };
      if (c.kind === 'function' && typeof c.name === 'string' && typeof c.codeHash === 'string') {
        if (out.has(c.name) && out.get(c.name) !== c.codeHash) twice.add(c.name);
        out.set(c.name, c.codeHash);
      }
      Object.values(x).forEach(walk);
    }
  };
  walk(ir);
  for (const n of twice) out.delete(n);
  return out;
}

/** What the first compile of a code version learned through tsx. */
export interface Learned {
  readonly entryAbs: string;
  readonly exportName: string | undefined;
  /** The IR tsx built. */
  readonly ir: unknown;
  /** Function sources seen under tsx, by sha256. */
  readonly sources: ReadonlyMap<string, string>;
  /** The loadable bundle ({@link bundleForCompile}). */
  readonly bundle: LoadableBundle;
  /** The module-graph hash the compile uses (`@sluice/bundle`'s). */
  readonly codeHash: string;
  /** Builds a pipeline and returns its IR (the CLI's SDK `toIR`). */
  readonly build: (p: unknown) => unknown;
  /** When bundling started: files modified after (less one second) make the entry unsafe to keep. */
  readonly startedMs: number;
}

/** Keeps an entry for a later compile when the bundle, with its sources mapped, builds the IR tsx built. Never throws for the compile's sake: a failure only means no entry. */
export async function learn(dir: string, l: Learned): Promise<boolean> {
  const files = l.bundle.files;
  for (const f of files) {
    if (f.split(/[\\/]/).includes('node_modules')) continue;
    // what the bundle cannot give a module as tsx does: CommonJS's own paths, import.meta beyond url/dirname/filename
    if (/\b__dirname\b|\b__filename\b|\bimport\.meta\.(?!url\b|dirname\b|filename\b)|\bimport\.meta\b(?!\.)/.test(readFileSync(f, 'utf8'))) return false;
  }
  // package.json from each project file's folder up to the root, present or absent ("type" decides how tsx loads a file)
  const manifests: string[] = [];
  for (const f of files) {
    if (f.split(/[\\/]/).includes('node_modules')) continue;
    for (let d = dirname(f); ; d = dirname(d)) {
      manifests.push(join(d, 'package.json'));
      if (d === l.bundle.root || dirname(d) === d || !d.startsWith(l.bundle.root)) break;
    }
  }
  const stamps = [...new Set([...files, ...manifests, ...LOCKFILES.map((x) => join(l.bundle.root, x)), ...toolFiles()])].sort().map(stamp);
  if (stamps.some((s) => s[1] >= 0 && Number(BigInt(s[2]) / 1_000_000n) >= l.startedMs - 1000)) return false;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = cacheKey(l.entryAbs, l.exportName);
  const bundle = `${key}-${l.codeHash.slice(0, 16)}.mjs`;
  const file = join(dir, bundle);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, l.bundle.code, { mode: 0o600 });
  renameSync(tmp, file);
  let kept = false;
  try {
    const url = pathToFileURL(file).href;
    const first = await withSources(undefined, async () => l.build(exported((await import(`${url}?learn`)) as BundleModule, l.exportName)));
    const bundleSources = new Map(first.seen.map((s) => [sha256(s), s]));
    const underTsx = functionHashes(l.ir);
    const pairs = new Map<string, string>(first.seen.map((s) => [s, s]));
    for (const [name, b] of functionHashes(first.value)) {
      const t = underTsx.get(name);
      const bs = bundleSources.get(b);
      const ts = t === undefined ? undefined : l.sources.get(t);
      if (bs !== undefined && ts !== undefined) pairs.set(bs, ts);
    }
    // the proof: the bundle, answered from the pairs, builds what tsx built
    const check = await withSources((s) => pairs.get(s) ?? s, async () => l.build(exported((await import(`${url}?check`)) as BundleModule, l.exportName)));
    if (canonicalJson(check.value) !== canonicalJson(l.ir)) return false;
    const entry: Entry = { version: 1, codeHash: l.codeHash, bundle, files: stamps, texts: [...pairs] };
    const json = join(dir, `${key}.json`);
    writeFileSync(`${json}.${process.pid}.tmp`, JSON.stringify(entry), { mode: 0o600 });
    renameSync(`${json}.${process.pid}.tmp`, json);
    kept = true;
    prune(dir);
    return true;
  } finally {
    if (!kept) rmSync(file, { force: true });
  }
}

/** Keeps the latest {@link KEEP} entries (and their bundles). */
function prune(dir: string): void {
  const entries = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => ({ f, t: statSync(join(dir, f)).mtimeMs })).sort((a, b) => b.t - a.t);
  const keep = new Set<string>();
  for (const { f } of entries.slice(0, KEEP)) {
    keep.add(f);
    try { keep.add((JSON.parse(readFileSync(join(dir, f), 'utf8')) as Entry).bundle); } catch { /* unreadable: goes */ }
  }
  for (const f of readdirSync(dir)) if (!keep.has(f) && !f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
}
