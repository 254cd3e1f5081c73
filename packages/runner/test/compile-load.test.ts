/**
 * How `sluice compile` and `sluice exec` load a pipeline (`@sluice/executor` `graph-load.ts`): the
 * pipeline's own modules bundled with esbuild and imported with plain node, the built module kept
 * in the user's cache directory while the files it was built from keep their stamps. Through the
 * real binary (a checkout's, which registers tsx for its own sources: the loader must not depend
 * on it). What is pinned: a step in a pod (an empty cache of its own) answers to the component
 * hashes the compile wrote; a repeated compile imports the kept module (no esbuild) and writes the
 * same bytes; an edit to an imported module, a package.json change and a new tsconfig.json (recorded
 * as absent) each build again; `sluice triggers compile` (the pipeline reached from the triggers
 * file) writes the same hashes; what a bundle cannot load faithfully goes through tsx on both sides;
 * a compile creates no store (`.sluice/`). Which loader evaluated the pipeline module is read from a
 * probe the module writes at load: the file its stack names.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
// inside the package, so that zod and @sluice/sdk resolve as in a user's project
const dir = mkdtempSync(join(import.meta.dirname, '.tmp-cload-'));
const cache = mkdtempSync(join(tmpdir(), 'sluice-cload-cache-'));
const probe = join(dir, 'probe.txt');
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(cache, { recursive: true, force: true });
});

/** Writes a file with an mtime in the past: nothing written in the second before a build is recorded. */
function write(name: string, text: string): void {
  writeFileSync(join(dir, name), text);
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, name), past, past);
}
write('package.json', JSON.stringify({ name: 'cload', private: true, type: 'module' }));
write('helper.ts', 'export const scale = 2;\n');
// a path computed at load from import.meta.url ends up in the IR: the bundle must give the module its own URL
write('paths.ts', "import { fileURLToPath } from 'node:url';\nexport const dataDir = fileURLToPath(new URL('./data', import.meta.url));\n");
write('pipeline.ts', `import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';
import { scale } from './helper.ts';
import { dataDir } from './paths.ts';

// which loader ran: the first frame of the stack names the file being evaluated (as loaded: source maps off)
process.setSourceMapsEnabled(false);
appendFileSync(process.env.PROBE!, (new Error().stack ?? '').split('\\n')[1] + '\\n');

const double = component({
  name: 'double', inputs: { n: z.number() }, outputs: { out: z.number() },
  run: ({ n }) => ({ out: n * scale }),
});

export default pipeline({ name: 'cload', params: { n: z.number().default(3), data: z.string().default(dataDir) }, image: 'example/pipelines:1' }, ({ n }) => {
  // defined while the pipeline builds: its hash is taken then
  const inner = component({ name: 'inner', inputs: { m: z.number() }, outputs: { o: z.number() }, run: ({ m }) => ({ o: m + 1 }) });
  return { out: inner({ m: double({ n }).outputs.out }).outputs.o };
});
`);

type Loader = 'bundle' | 'tsx';
const loaderOf = (frame: string): Loader => (frame.includes(join(cache, 'load')) || /sluice-load-|\/load\/[0-9a-f]{32}\//.test(frame) ? 'bundle' : 'tsx');

/** Runs the binary in the project; returns stderr and which loader evaluated the pipeline module, each time it ran. */
function sluice(args: readonly string[], env: Record<string, string> = {}): { stderr: string; loaders: Loader[] } {
  writeFileSync(probe, '');
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, SLUICE_STORE: '', SLUICE_CACHE: cache, SLUICE_DEBUG: '1', PROBE: probe, ...env }, timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  return { stderr: r.stderr, loaders: readFileSync(probe, 'utf8').trim().split('\n').filter(Boolean).map(loaderOf) };
}

/** Compiles; the manifest, the loaders, and whether esbuild built the pipeline's modules. */
function compile(): { yaml: string; loaders: Loader[]; built: boolean } {
  const out = join(dir, 'out.yaml');
  const r = sluice(['compile', 'pipeline.ts', '-o', out]);
  return { yaml: readFileSync(out, 'utf8'), loaders: r.loaders, built: /pipeline\.ts: built with esbuild/.test(r.stderr) };
}

describe('sluice compile and sluice exec: one loader', () => {
  let reference: string;

  it('compiles through the bundle without a store; a pod (its own empty cache) answers to the hashes the compile wrote', () => {
    const first = compile();
    expect(first).toMatchObject({ loaders: ['bundle'], built: true });
    expect(first.yaml).toContain(join(dir, 'data'));
    // no store: the built module and the module-graph hash (in its index entry) are in the user's cache directory
    expect(existsSync(join(dir, '.sluice'))).toBe(false);
    expect(readdirSync(join(cache, 'load')).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(cache, 'load', f), 'utf8')).codeHash)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(existsSync(join(cache, 'code-hashes.json'))).toBe(false);
    reference = first.yaml;
    const steps = new Map([...first.yaml.matchAll(/- --component\n\s+- '?([0-9a-f]{16})'?\n\s+- --component-name\n\s+- (\S+)\n/g)].map((m) => [m[1]!, m[2]!]));
    expect([...steps.values()].sort()).toEqual(['double', 'inner']);
    for (const [hash, name] of steps) {
      const podCache = mkdtempSync(join(tmpdir(), 'sluice-cload-pod-'));
      try {
        const outputs = join(dir, `exec-${name}`);
        const r = sluice(['exec', '--entry', 'pipeline.ts', '--component', hash, '--task', `wf.${name}`, '--param', name === 'double' ? 'n=3' : 'm=6', '--outputs', outputs], { SLUICE_CACHE: podCache });
        expect(r.loaders).toEqual(['bundle']);
        expect(readFileSync(join(outputs, 'parameters', name === 'double' ? 'out' : 'o'), 'utf8')).toBe(name === 'double' ? '6' : '7');
      } finally {
        rmSync(podCache, { recursive: true, force: true });
      }
    }
  }, 240_000);

  it('a repeated compile imports the kept module (no esbuild) and writes the same bytes', () => {
    expect(compile()).toEqual({ yaml: reference, loaders: ['bundle'], built: false });
  }, 120_000);

  it('an edit to an imported module builds again', () => {
    write('helper.ts', 'export const scale = 3;\n');
    const edited = compile();
    expect(edited.built).toBe(true);
    expect(edited.yaml).not.toBe(reference);
    write('helper.ts', 'export const scale = 2;\n');
    expect(compile()).toEqual({ yaml: reference, loaders: ['bundle'], built: true });
    expect(compile().built).toBe(false);
  }, 240_000);

  it('a package.json change builds again', () => {
    write('package.json', JSON.stringify({ name: 'cload', private: true, type: 'module', description: 'changed' }));
    expect(compile()).toEqual({ yaml: reference, loaders: ['bundle'], built: true });
    expect(compile().built).toBe(false);
  }, 240_000);

  it('a tsconfig.json created beside a module (recorded as absent) builds again', () => {
    write('tsconfig.json', JSON.stringify({ compilerOptions: { strict: true } }));
    expect(compile()).toEqual({ yaml: reference, loaders: ['bundle'], built: true });
    expect(compile().built).toBe(false);
  }, 240_000);

  it('sluice triggers compile, which reaches the pipeline from another entry, writes the component hashes sluice compile wrote', () => {
    // a top-level name of the triggers module that the pipeline's run() also uses: one bundle of
    // both modules would rename one of them, and the function source with it
    write('triggers.ts', `import { schedule, trigger } from '@sluice/triggers';
import target from './pipeline.ts';
const scale = 'not the helper';
export const nightly = trigger({ name: 'nightly', description: scale, source: schedule({ cron: '0 3 * * *', timezone: 'Etc/UTC' }), target, entry: 'pipeline.ts', params: () => ({}) });
`);
    const out = join(dir, 'triggers.yaml');
    sluice(['triggers', 'compile', 'triggers.ts', '-o', out, '--image', 'example/sluice:1', '--pipeline-image', 'example/pipelines:1']);
    const hashes = (yaml: string) => [...yaml.matchAll(/- --component\n\s+- '?([0-9a-f]{16})'?\n\s+- --component-name\n\s+- (\S+)\n/g)].map((m) => `${m[2]}=${m[1]}`).sort();
    expect(hashes(readFileSync(out, 'utf8'))).toEqual(hashes(reference));
    expect(hashes(reference)).toHaveLength(2);
  }, 120_000);

  it('createRequire from import.meta.url resolves from the source file; a free __dirname loads through tsx, in the compile and in the pod alike', () => {
    const execDouble = (loader: Loader) => {
      const c = compile();
      expect(c.loaders).toEqual([loader]);
      const hash = /- --component\n\s+- '?([0-9a-f]{16})'?\n\s+- --component-name\n\s+- double\n/.exec(c.yaml)?.[1];
      expect(hash).toBeDefined();
      const out = join(dir, `exec-${loader}`);
      const r = sluice(['exec', '--entry', 'pipeline.ts', '--component', hash!, '--task', 'wf.double', '--param', 'n=4', '--outputs', out], { SLUICE_CACHE: mkdtempSync(join(tmpdir(), 'sluice-cload-pod-')) });
      expect(r.loaders).toEqual([loader]);
      expect(readFileSync(join(out, 'parameters', 'out'), 'utf8')).toBe('8');
    };
    write('scale.json', JSON.stringify({ scale: 2 }));
    write('helper.ts', "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nexport const scale: number = require('./scale.json').scale;\n");
    execDouble('bundle');
    // CommonJS's own name, which an ES module built elsewhere cannot have as its source's
    write('helper.ts', "export const here = typeof __dirname;\nexport const scale = 2;\n");
    execDouble('tsx');
  }, 240_000);
});
