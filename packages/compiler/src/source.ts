/**
 * `@sluice/compiler/source`: static analysis of the user's source, what the IR cannot know. Its
 * own entry, so that `compile()` never loads it.
 *
 * - **Packaging.** A function component runs in the pod by importing the pipeline file
 *   (`sluice exec --entry`), so every file it imports must be inside the project that the image
 *   holds, and every package it imports must be a declared dependency (an image installs what
 *   package.json declares, not what happens to sit in node_modules here).
 * - **Descriptions.** A doc comment on `export const x = component({...})` (or on the pipeline)
 *   becomes the component's description when its config gives none.
 *
 * Only syntax is read (no type checker, no node_modules): a small scanner (`source-scan.ts`) reads
 * each module's imports and doc comments in about a millisecond; ts-morph, whose TypeScript takes
 * ~0.35 s to load, reads only JSX files and files the scanner does not follow (`source-tsmorph.ts`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { scanModule, ScanError, type ModuleFacts } from './source-scan.ts';
import { tsMorphFacts } from './source-tsmorph.ts';
import { isValidatedIR, markValidated } from '@sluice/sdk';
import type { ComponentIR, PipelineIR, SluiceIssue } from '@sluice/sdk';

/** What {@link analyzeSource} found. */
export interface SourceReport {
  /** The project root every imported file must be under. */
  readonly root: string;
  /** Project files the entry loads, relative to the root, sorted. */
  readonly files: readonly string[];
  /** Packages the entry loads (outside the project), sorted. */
  readonly packages: readonly string[];
  /** Doc-comment descriptions of components and pipelines defined without one, by their `name`. */
  readonly descriptions: { readonly [name: string]: string };
  /** Packaging problems, each naming the file and the import. */
  readonly issues: readonly SluiceIssue[];
}

const DEFINERS = new Set(['component', 'containerComponent', 'pipeline']);
const BUILTINS = new Set(builtinModules);
const EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.js', '.mjs', '.cjs'];

/** The nearest folder upwards holding `pnpm-workspace.yaml` or `.git`, else the nearest with package.json. */
export function projectRoot(from: string): string {
  let nearestPkg: string | undefined;
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml')) || existsSync(join(dir, '.git'))) return dir;
    if (!nearestPkg && existsSync(join(dir, 'package.json'))) nearestPkg = dir;
    if (dirname(dir) === dir) return nearestPkg ?? resolve(from);
  }
}

function resolveRelative(fromFile: string, spec: string): string | undefined {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base, ...EXTENSIONS.map((e) => base + e), ...EXTENSIONS.map((e) => join(base, `index${e}`))];
  // `./x.js` written for a `./x.ts` source (NodeNext style).
  const js = /\.(m|c)?js$/.exec(base);
  if (js) candidates.push(base.replace(/\.(m|c)?js$/, `.${js[1] ?? ''}ts`));
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Dependencies declared by the package.json files from `dir` up to `root`. */
function declaredAt(dir: string, root: string, cache: Map<string, ReadonlySet<string>>): ReadonlySet<string> {
  const hit = cache.get(dir);
  if (hit) return hit;
  const names = new Set<string>();
  const pkgFile = join(dir, 'package.json');
  if (existsSync(pkgFile)) {
    try {
      const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as Record<string, Record<string, string> | string | undefined>;
      if (typeof pkg['name'] === 'string') names.add(pkg['name']);
      for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
        const deps = pkg[field];
        if (deps && typeof deps === 'object') for (const k of Object.keys(deps)) names.add(k);
      }
    } catch {
      /* an unreadable package.json declares nothing */
    }
  }
  if (dir !== root && dirname(dir) !== dir) for (const n of declaredAt(dirname(dir), root, cache)) names.add(n);
  cache.set(dir, names);
  return names;
}

/** The text of a `/** ... *\/` comment without its tags. */
function docText(comment: string): string | undefined {
  const lines = comment.replace(/^\/\*\*|\*\/$/g, '').split('\n').map((l) => l.replace(/^\s*\* ?/, '').trimEnd());
  const body: string[] = [];
  for (const l of lines) {
    if (l.trimStart().startsWith('@')) break;
    body.push(l);
  }
  const out = body.join('\n').trim().replace(/\n{3,}/g, '\n\n');
  return out || undefined;
}

/**
 * One module's facts: the scanner's, or ts-morph's for JSX and for what the scanner does not
 * follow (the same facts either way; a test holds them equal over every example).
 */
export function moduleFacts(path: string): ModuleFacts {
  if (/\.[jt]sx$/.test(path)) return tsMorphFacts(path);
  try {
    return scanModule(readFileSync(path, 'utf8'));
  } catch (e) {
    if (!(e instanceof ScanError)) throw e;
    return tsMorphFacts(path);
  }
}

/**
 * Reads the pipeline file and everything it imports from the project: reports imports that an
 * image of the project could not satisfy, and doc-comment descriptions.
 *
 * @example
 * const report = analyzeSource('pipelines/train.ts');
 * if (report.issues.length) console.error(formatIssues(report.issues));
 */
export function analyzeSource(entry: string, options: { root?: string; /** How one module's facts are read. @default {@link moduleFacts} */ read?: (path: string) => ModuleFacts } = {}): SourceReport {
  const entryPath = resolve(entry);
  const root = resolve(options.root ?? projectRoot(dirname(entryPath)));
  const read = options.read ?? moduleFacts;
  const issues: SluiceIssue[] = [];
  const descriptions: Record<string, string> = {};
  const files = new Set<string>();
  const packages = new Set<string>();
  const depCache = new Map<string, ReadonlySet<string>>();
  const queue = [entryPath];
  const seen = new Set(queue);
  const at = (file: string, line: number) => `${relative(root, file).split(sep).join('/')}:${line}`;

  while (queue.length) {
    const path = queue.shift()!;
    files.add(relative(root, path).split(sep).join('/'));
    const facts = read(path);
    for (const { spec, line } of facts.imports) {
      if (spec.startsWith('.') || spec.startsWith('/')) {
        const target = resolveRelative(path, spec);
        if (!target) {
          issues.push({ code: 'source.unresolved', path: at(path, line), message: `imports "${spec}", which does not exist` });
          continue;
        }
        const rel = relative(root, target);
        if (rel.startsWith('..') || resolve(root, rel) !== target) {
          issues.push({
            code: 'source.outside',
            path: at(path, line),
            message: `imports "${spec}", which is outside the project (${root}) and will not be in the image`,
            hint: 'move it into the project, or publish it as a package and declare it',
          });
          continue;
        }
        if (rel.split(sep).includes('node_modules')) continue;
        if (!seen.has(target)) {
          seen.add(target);
          queue.push(target);
        }
        continue;
      }
      if (spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(packageName(spec))) continue;
      const name = packageName(spec);
      packages.add(name);
      if (!declaredAt(dirname(path), root, depCache).has(name)) {
        issues.push({
          code: 'source.undeclared',
          path: at(path, line),
          message: `imports "${name}", which no package.json between this file and the project root declares in dependencies`,
          hint: `add it: pnpm add ${name} (a devDependency is not installed in a production image)`,
        });
      }
    }
    const definers = new Set(Object.entries(facts.sdkImports).filter(([, original]) => DEFINERS.has(original)).map(([local]) => local));
    if (definers.size === 0) continue;
    for (const d of facts.definitions) {
      if (!definers.has(d.callee) || !d.comment) continue;
      const doc = docText(d.comment);
      if (doc) descriptions[d.name] = doc;
    }
  }
  return {
    root,
    files: [...files].sort(),
    packages: [...packages].sort(),
    descriptions,
    issues,
  };
}

/**
 * IR pass: fills the descriptions of components (and of the pipeline) that have none from a
 * source report. Components keep their keys: a description does not change what runs.
 *
 * @example
 * const ir2 = withDescriptions(ir, analyzeSource('pipeline.ts').descriptions);
 */
export function withDescriptions(ir: PipelineIR, descriptions: { readonly [name: string]: string }): PipelineIR {
  const components: Record<string, ComponentIR> = {};
  for (const [hash, c] of Object.entries(ir.components)) {
    const d = descriptions[c.name];
    components[hash] = c.description || !d ? c : Object.freeze({ ...c, description: d });
  }
  const d = descriptions[ir.name];
  const out: PipelineIR = Object.freeze({ ...ir, components: Object.freeze(components), ...(!ir.description && d ? { description: d } : {}) });
  // Validation does not read descriptions: a validated, frozen input gives a valid output.
  return isValidatedIR(ir) ? markValidated(out) : out;
}
