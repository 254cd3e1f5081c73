/**
 * `sluice build`: the context for "an image you build". Instead of `COPY . .` of a whole checkout
 * (sources, tests, dev dependencies, `.sluice/`), it writes:
 *
 * - `app/`: a pruned production install: the project files the pipeline's module graph uses
 *   (found by bundling it) at their paths, and in `app/node_modules` only the packages that
 *   graph imports at run time plus the executor (`@sluice/executor`, with tsx to load
 *   TypeScript), each with its production and present optional dependencies, copied (no symlinks);
 * - `Dockerfile`: `FROM node:20-slim`, `COPY app/ /app/`, `sluice-exec` on the PATH;
 * - `.dockerignore`: everything but `app/` and the Dockerfile.
 *
 * `docker build -t <image> <out>` then `sluice submit <pipeline.ts> --image <image>` runs it.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundlePipeline } from '@sluice/bundle';

export interface BuildOptions {
  readonly outDir: string;
  /** @default 'node:20-slim' */
  readonly baseImage?: string;
  readonly exportName?: string;
}

export interface BuildResult {
  readonly outDir: string;
  /** The pipeline file inside the image (what `sluice submit --image` passes as `--entry`). */
  readonly entryInImage: string;
  /** Project files copied, relative to the project root. */
  readonly files: readonly string[];
  /** Packages installed in app/node_modules, by name. */
  readonly packages: readonly string[];
  readonly summary: string;
}

/** Packages every image needs: the executor and its loader. */
const RUNTIME = ['@sluice/executor'];

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

/** The real directory of package `name` as Node would find it from `fromDir`. */
function findPackage(name: string, fromDir: string): string | undefined {
  for (let d = fromDir; ; d = path.dirname(d)) {
    const p = path.join(d, 'node_modules', name, 'package.json');
    if (existsSync(p)) return realpathSync(path.dirname(p));
    if (path.dirname(d) === d) return undefined;
  }
}

/** The directory of the nearest package.json above a file. */
function packageDirOf(file: string): string | undefined {
  for (let d = path.dirname(file); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, 'package.json'))) return d;
    if (path.dirname(d) === d) return undefined;
  }
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Writes the build context; returns what went in. */
export async function buildContext(entry: string, o: BuildOptions): Promise<BuildResult> {
  // the pipeline's module graph alone (without the bundle's runtime): what the image must hold
  const bundle = await bundlePipeline(entry, { runtime: false, ...(o.exportName === undefined ? {} : { exportName: o.exportName }) });
  const root = bundle.root;
  const out = path.resolve(o.outDir);
  const app = path.join(out, 'app');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });

  // the project's own files the pipeline uses (not the SDK's or the executor's: those are packages)
  const files: string[] = [];
  const bare = new Set<string>(RUNTIME);
  const entryPackage = packageDirOf(path.resolve(entry));
  for (const input of bundle.inputs) {
    if (input.includes('<sluice-bundle-entry>')) continue;
    const abs = path.resolve(root, input.replace(/^[a-z-]+:/, ''));
    const nm = abs.lastIndexOf(`${path.sep}node_modules${path.sep}`);
    if (nm >= 0) {
      const rest = abs.slice(nm + 14).split(path.sep);
      const name = rest[0]?.startsWith('.pnpm') ? undefined : rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
      if (name) bare.add(name);
      continue;
    }
    const owner = packageDirOf(abs);
    if (owner !== undefined && owner !== entryPackage) {
      // another package's source (a workspace package such as the SDK): installed as a package
      const name = readJson(path.join(owner, 'package.json')).name;
      if (typeof name === 'string') bare.add(name);
      continue;
    }
    const relPath = path.relative(root, abs);
    if (relPath.startsWith('..')) continue;
    files.push(relPath);
  }
  // pnpm keeps packages under node_modules/.pnpm: read imports from the bundle's module names instead
  for (const input of bundle.inputs) {
    const m = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m?.[1]) bare.add(m[1]);
  }
  const entryAbs = path.resolve(entry);
  const entryRel = path.relative(root, entryAbs);
  if (!files.includes(entryRel)) files.push(entryRel);
  files.sort();
  for (const f of files) {
    mkdirSync(path.dirname(path.join(app, f)), { recursive: true });
    cpSync(path.join(root, f), path.join(app, f));
  }
  // the nearest package.json of the entry says "type": "module" and the like
  for (let d = path.dirname(entryAbs); d.startsWith(root); d = path.dirname(d)) {
    const pj = path.join(d, 'package.json');
    if (existsSync(pj)) {
      const p = readJson(pj);
      const pruned = { name: p.name, version: p.version, private: true, type: p.type ?? 'commonjs' };
      mkdirSync(path.join(app, path.relative(root, d)), { recursive: true });
      writeFileSync(path.join(app, path.relative(root, d), 'package.json'), `${JSON.stringify(pruned, null, 2)}\n`);
      break;
    }
    if (d === root) break;
  }

  // the production closure of those packages, flat in app/node_modules (a name seen twice with
  // another version goes under its dependent's node_modules)
  const placed = new Map<string, string>();
  const packages: string[] = [];
  const queue: { name: string; from: string; into: string }[] = [...bare].sort().map((name) => ({ name, from: path.dirname(entryAbs), into: app }));
  while (queue.length) {
    const { name, from, into } = queue.shift()!;
    const dir = findPackage(name, from);
    if (!dir) continue; // an optional dependency absent on this platform, or a Node built-in
    let target = path.join(app, 'node_modules', name);
    const have = placed.get(name);
    if (have === dir) continue;
    if (have !== undefined) target = path.join(into, 'node_modules', name);
    if (existsSync(target)) continue;
    if (have === undefined) placed.set(name, dir);
    cpSync(dir, target, { recursive: true, dereference: true, filter: (src) => !src.slice(dir.length).split(path.sep).includes('node_modules') && !/\/(test|tests|__tests__)$/.test(src.slice(dir.length)) });
    packages.push(name);
    const pj = readJson(path.join(dir, 'package.json'));
    const deps = { ...((pj.optionalDependencies as Record<string, string> | undefined) ?? {}), ...((pj.dependencies as Record<string, string> | undefined) ?? {}) };
    for (const dep of Object.keys(deps).sort()) queue.push({ name: dep, from: dir, into: target });
  }
  packages.sort();

  const base = o.baseImage ?? 'node:20-slim';
  const entryInImage = `/app/${entryRel.split(path.sep).join('/')}`;
  writeFileSync(path.join(out, 'Dockerfile'), [
    '# Written by `sluice build`: the pipeline\'s code and a pruned production install, nothing else.',
    `FROM ${base}`,
    'WORKDIR /app',
    'COPY app/ /app/',
    'RUN ln -s /app/node_modules/@sluice/executor/bin/sluice-exec.mjs /usr/local/bin/sluice-exec',
    'ENV NODE_ENV=production',
    '# steps run as: sluice-exec --entry ' + entryInImage + ' --component <hash> --task <id> --outputs <dir> ...',
    'USER node',
    '',
  ].join('\n'));
  writeFileSync(path.join(out, '.dockerignore'), ['# only the pruned install goes into the image', '*', '!app/', '!Dockerfile', 'app/**/.sluice', ''].join('\n'));
  const bytes = (p: string): number => (statSync(p).isDirectory() ? 0 : statSync(p).size);
  void bytes;
  return {
    outDir: out, entryInImage, files, packages,
    summary: `wrote ${path.relative(process.cwd(), out) || '.'}/{Dockerfile,.dockerignore,app/}: ${files.length} project file(s), ${packages.length} package(s). Build and push it, then: sluice submit ${entry} --image <image> --entry-in-image ${entryInImage}`,
  };
}

export { packageName };
