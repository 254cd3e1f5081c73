/**
 * `create-sluice`: writes a new Sluice project (`npm create sluice my-pipelines`, or `sluice init`):
 * `package.json` (ESM), `tsconfig.json`, a `pipeline.ts` with two components and a condition, its
 * vitest test, a `Dockerfile` + `.dockerignore` for the pod image and a README with the next commands.
 *
 * @example
 * import { scaffold } from 'create-sluice';
 * const { dir, files } = scaffold('my-pipelines');
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { scaffoldFiles, type ScaffoldVersions } from './templates.ts';

export { scaffoldFiles } from './templates.ts';
export type { ScaffoldVersions } from './templates.ts';

/** A project could not be written; nothing was. */
export class ScaffoldError extends Error {
  override readonly name = 'ScaffoldError';
}

/** What {@link scaffold} wrote. */
export interface ScaffoldResult {
  /** Absolute directory of the project. */
  readonly dir: string;
  /** The package name (from the directory name). */
  readonly name: string;
  /** Relative paths of the files written. */
  readonly files: readonly string[];
}

/** Options of {@link scaffold}. */
export interface ScaffoldOptions {
  /** Package name. @default the directory's name, lowercased, other characters as `-` */
  readonly name?: string;
  /** Versions to depend on. @default this package's version for the `@sluice/*` packages */
  readonly versions?: ScaffoldVersions;
}

/** The version of this package (the `@sluice/*` packages are released together with it). */
export function ownVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/** A package and image name from a directory name: lowercase letters, digits and `-`. */
export function projectName(dir: string): string {
  const n = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  return n || 'sluice-pipelines';
}

/**
 * `mkdir -p`, a level at a time: Node 20's recursive `mkdirSync` never returns where mkdir answers
 * ENOENT under a folder that exists (`sluice init /proc/x`). (This package depends on nothing; the
 * other packages use `@sluice/executor/paths`.)
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try { mkdirSync(d); } catch (e) { if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e; }
  }
}

/**
 * Writes a new project into `dir` (created when missing). Refuses, writing nothing, when any of its
 * files already exists there.
 */
export function scaffold(dir: string, options: ScaffoldOptions = {}): ScaffoldResult {
  const abs = resolve(dir);
  if (existsSync(abs) && !statSync(abs).isDirectory()) throw new ScaffoldError(`${dir} exists and is not a directory`);
  const name = options.name ?? projectName(abs);
  if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(name)) throw new ScaffoldError(`project name "${name}" must be lowercase letters, digits and '-', 1 to 63 characters`);
  const files = scaffoldFiles(name, options.versions ?? { sluice: `^${ownVersion()}` });
  const clashes = Object.keys(files).filter((f) => existsSync(join(abs, f)));
  if (clashes.length) throw new ScaffoldError(`${dir}: ${clashes.join(', ')} already exist${clashes.length === 1 ? 's' : ''}; nothing was written (choose an empty or new directory)`);
  // a folder that cannot be made (under a file, read-only, a full disk) is said in one line
  const made: string[] = [];
  try {
    for (const [rel, text] of Object.entries(files)) {
      makeDirs(dirname(join(abs, rel)));
      writeFileSync(join(abs, rel), text, { flag: 'wx' });
      made.push(join(abs, rel));
    }
  } catch (e) {
    // nothing half-written is left behind: the files this call wrote go again
    for (const f of made) rmSync(f, { force: true });
    const err = e as NodeJS.ErrnoException;
    throw new ScaffoldError(`cannot write the project into ${dir}: ${err.code ? `${err.code}: ` : ''}${err.message.replace(/^[A-Z]+: /, '')}`);
  }
  return { dir: abs, name, files: Object.keys(files) };
}

/** The commands to run after {@link scaffold}, for a person. */
export function nextSteps(result: ScaffoldResult, from = process.cwd()): string {
  const r = relative(from, result.dir);
  const rel = r.startsWith('..') ? result.dir : r;
  return [
    `Created ${result.name} in ${rel || '.'}: ${result.files.join(', ')}`,
    'Next:',
    ...(rel ? [`  cd ${rel.includes(' ') ? JSON.stringify(rel) : rel}`] : []),
    '  npm install',
    '  npm test',
    '  npx sluice run pipeline.ts',
    '  npx sluice compile pipeline.ts -o workflow.yaml',
    '',
  ].join('\n');
}

/** `create-sluice [dir]` (what `npm create sluice` runs); returns the exit code. */
export function createMain(argv: readonly string[], invokedAs = 'create-sluice'): number {
  const args = argv.filter((a) => a !== '--');
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: ${invokedAs} [dir] [--name <name>]\n\nWrites a new Sluice project into dir (default: sluice-pipelines).\n`);
    return 0;
  }
  const at = args.indexOf('--name');
  const name = at >= 0 ? args[at + 1] : undefined;
  if (at >= 0 && !name) return fail(invokedAs, '--name needs a value');
  const rest = args.filter((_, i) => at < 0 || (i !== at && i !== at + 1));
  const unknown = rest.find((a) => a.startsWith('-'));
  if (unknown) return fail(invokedAs, `unknown option ${unknown}`);
  if (rest.length > 1) return fail(invokedAs, `expected at most one directory, got ${rest.join(' ')}`);
  try {
    const r = scaffold(rest[0] ?? 'sluice-pipelines', name ? { name } : {});
    process.stdout.write(nextSteps(r));
    return 0;
  } catch (e) {
    if (e instanceof ScaffoldError) return fail(invokedAs, e.message);
    throw e;
  }
}

function fail(invokedAs: string, message: string): number {
  process.stderr.write(`${invokedAs}: ${message}\n`);
  return 2;
}
