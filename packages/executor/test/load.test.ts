import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toIR, type Pipeline } from '@sluice/sdk';
import { loadPipelineFile, loadSluicePipeline } from '../src/load.ts';

// A pipeline in a CommonJS package (`"type": "commonjs"`, what `npm init -y` writes): tsx loads it as
// CommonJS, so importing it gives { default: module.exports } with the pipeline at module.exports.default.
// Written here (inside the package, so that @sluice/sdk resolves) rather than kept as a fixture,
// because the repository's type check reads every test file as ESM.
const dir = mkdtempSync(join(import.meta.dirname, '.tmp-cjs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cjs-project', type: 'commonjs' }));
const cjs = join(dir, 'pipeline.ts');
writeFileSync(cjs, `import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';

export const double = component({
  name: 'double', inputs: { n: z.number() }, outputs: { out: z.number() },
  run: ({ n }) => ({ out: n * 2 }),
});

export const named = pipeline({ name: 'cjs-named', params: { n: z.number().default(2) } }, ({ n }) => ({ out: double({ n }).outputs.out }));

export default pipeline({ name: 'cjs-default', params: { n: z.number().default(3) } }, ({ n }) => ({ out: double({ n }).outputs.out }));
`);

describe('loading a pipeline file from a CommonJS package', () => {
  it('finds the default export under the CommonJS wrapper', async () => {
    const loaded = await loadPipelineFile(cjs);
    expect(loaded.ir.name).toBe('cjs-default');
    expect(Object.values(loaded.ir.components).map((c) => c.name)).toEqual(['double']);
    expect(loaded.runtimes.size).toBe(1);
  });

  it('finds a named export, and compile sees the same pipeline', async () => {
    expect((await loadPipelineFile(cjs, 'named')).ir.name).toBe('cjs-named');
    expect(toIR((await loadSluicePipeline(cjs)) as Pipeline).name).toBe('cjs-default');
  });
});
