/**
 * The compile cache (`src/cli/compile-cache.ts`): a repeated `sluice compile` of unchanged code
 * imports the pipeline from a bundle with plain node, and writes the same bytes as a compile
 * through tsx. Whatever could change what tsx would build misses it: an edit to a module, a
 * package.json change, a tsconfig.json created where tsx looks for one (a candidate recorded as
 * absent), and a component the environment adds. Which loader ran is read from a probe the
 * pipeline module writes at load: the file its stack names. A compile through tsx that records a
 * bundle for the next one runs the module twice more, from the bundle (to pair its sources, then
 * to check that it builds what tsx built): LEARN.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const LEARN = ['tsx', 'bundle', 'bundle'];
const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
const dir = mkdtempSync(join(import.meta.dirname, '.tmp-ccache-'));
const store = join(dir, '.sluice');
const probe = join(dir, 'probe.txt');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes a file with an mtime in the past: the cache does not keep files written in the second before a compile. */
function write(name: string, text: string): void {
  writeFileSync(join(dir, name), text);
  const past = new Date(Date.now() - 60_000);
  utimesSync(join(dir, name), past, past);
}
write('package.json', JSON.stringify({ name: 'ccache', private: true, type: 'module' }));
write('helper.ts', 'export const scale = 2;\n');
// a path computed at load from import.meta.url ends up in the IR: the bundle must give the module its own URL
write('paths.ts', "import { fileURLToPath } from 'node:url';\nexport const dataDir = fileURLToPath(new URL('./data', import.meta.url));\n");
write('pipeline.ts', `import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';
import { scale } from './helper.ts';
import { dataDir } from './paths.ts';

// which loader ran: the first frame of the stack names the file being evaluated
appendFileSync(process.env.PROBE!, (new Error().stack ?? '').split('\\n')[1] + '\\n');

const double = component({
  name: 'double', inputs: { n: z.number() }, outputs: { out: z.number() },
  run: ({ n }) => ({ out: n * scale }),
});

export default pipeline({ name: 'ccache', params: { n: z.number().default(3), data: z.string().default(dataDir) }, image: 'example/pipelines:1' }, ({ n }) => {
  // defined while the pipeline builds: its hash is taken then
  const inner = component({ name: 'inner', inputs: { m: z.number() }, outputs: { o: z.number() }, run: ({ m }) => ({ o: m + 1 }) });
  const out = inner({ m: double({ n }).outputs.out }).outputs.o;
  if (process.env.EXTRA) {
    const extra = component({ name: 'extra', inputs: { m: z.number() }, outputs: { o: z.number() }, run: ({ m }) => ({ o: m - 1 }) });
    return { out, extra: extra({ m: out }).outputs.o };
  }
  return { out };
});
`);

/** Compiles; returns the manifest and which loader evaluated the pipeline module, each time it ran (the bundle in the compile cache, or tsx). */
function compile(extraEnv: Record<string, string> = {}): { yaml: string; loaders: string[] } {
  writeFileSync(probe, '');
  const out = join(dir, 'out.yaml');
  const r = spawnSync(process.execPath, [BIN, 'compile', 'pipeline.ts', '-o', out], { cwd: dir, encoding: 'utf8', env: { ...process.env, SLUICE_STORE: store, PROBE: probe, ...extraEnv }, timeout: 120_000 });
  expect(r.status, r.stderr).toBe(0);
  const loaders = readFileSync(probe, 'utf8').trim().split('\n').map((f) => (f.includes('compile-cache') ? 'bundle' : 'tsx'));
  return { yaml: readFileSync(out, 'utf8'), loaders };
}

describe('the compile cache', () => {
  let reference: string;

  it('a repeated compile loads the bundle and writes the bytes the compile through tsx wrote', () => {
    const first = compile();
    expect(first.loaders).toEqual(LEARN);
    const again = compile();
    expect(again.loaders).toEqual(['bundle']);
    expect(again.yaml).toBe(first.yaml);
    reference = first.yaml;
    expect(first.yaml).toContain(join(dir, 'data'));
    // what matters of the bytes: a pod's executor (tsx, as with an image) answers to the hashes the bundle gave
    const steps = new Map([...again.yaml.matchAll(/- --component\n\s+- '?([0-9a-f]{16})'?\n\s+- --component-name\n\s+- (\S+)\n/g)].map((m) => [m[1]!, m[2]!]));
    expect([...steps.values()].sort()).toEqual(['double', 'inner']);
    for (const [hash, name] of steps) {
      const outputs = join(dir, `exec-${name}`);
      const param = name === 'double' ? 'n=3' : 'm=6';
      const r = spawnSync(process.execPath, [BIN, 'exec', '--entry', 'pipeline.ts', '--component', hash, '--task', `wf.${name}`, '--param', param, '--outputs', outputs], { cwd: dir, encoding: 'utf8', env: { ...process.env, PROBE: probe }, timeout: 120_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(join(outputs, 'parameters', name === 'double' ? 'out' : 'o'), 'utf8')).toBe(name === 'double' ? '6' : '7');
    }
  }, 240_000);

  it('an edit to an imported module misses it', () => {
    write('helper.ts', 'export const scale = 3;\n');
    const edited = compile();
    expect(edited.loaders).toEqual(LEARN);
    expect(edited.yaml).not.toBe(reference);
    write('helper.ts', 'export const scale = 2;\n');
    expect(compile()).toEqual({ yaml: reference, loaders: LEARN });
    expect(compile()).toEqual({ yaml: reference, loaders: ['bundle'] });
  }, 240_000);

  it('a package.json change misses it', () => {
    write('package.json', JSON.stringify({ name: 'ccache', private: true, type: 'module', description: 'changed' }));
    expect(compile()).toEqual({ yaml: reference, loaders: LEARN });
    expect(compile().loaders).toEqual(['bundle']);
  }, 240_000);

  it('a tsconfig.json created where tsx looks for one (recorded as absent) misses it', () => {
    write('tsconfig.json', JSON.stringify({ compilerOptions: { strict: true } }));
    expect(compile()).toEqual({ yaml: reference, loaders: LEARN });
    expect(compile().loaders).toEqual(['bundle']);
  }, 240_000);

  it('a component the environment adds is not in the recorded sources: tsx loads it, and the manifest is tsx\'s', () => {
    // the bundle runs the module, meets a source it has no pair for while the pipeline builds, and tsx loads it again
    const withExtra = compile({ EXTRA: '1' });
    expect(withExtra.loaders).toEqual(['bundle', ...LEARN]);
    expect(withExtra.yaml).toContain('name: extra');
    expect(withExtra.yaml).not.toBe(reference);
    expect(compile()).toEqual({ yaml: reference, loaders: ['bundle'] });
  }, 240_000);
});

