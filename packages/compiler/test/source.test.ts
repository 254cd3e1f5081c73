import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { toIR } from '@sluice/sdk';
import { analyzeSource, withDescriptions } from '../src/source.ts';
import { registerCompile } from '../../runner/src/cli/compile.ts';
import { repoRoot } from './helpers/argo.ts';

function project(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sluice-source-'));
  mkdirSync(path.join(root, 'app', '.git'), { recursive: true });
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
    writeFileSync(path.join(root, f), text);
  }
  return root;
}

describe('analyzeSource (ts-morph)', () => {
  it('follows project imports and flags what an image of the project could not load', () => {
    const root = project({
      'app/package.json': JSON.stringify({ name: 'app', dependencies: { zod: '^4', '@sluice/sdk': '*' }, devDependencies: { lodash: '^4' } }),
      'app/pipeline.ts': [
        "import { z } from 'zod';",
        "import { readFileSync } from 'node:fs';",
        "import path from 'path';",
        "import { helper } from './lib/helper.js';",
        "import { shared } from '../shared/util.ts';",
        "import _ from 'lodash';",
        "import type { Big } from 'big-types';",
        "export * from './missing.ts';",
        'export const x = [z, readFileSync, path, helper, shared, _];',
      ].join('\n'),
      'app/lib/helper.ts': "import { chunk } from '@acme/chunks/sub';\nexport const helper = chunk;\n",
      'shared/util.ts': 'export const shared = 1;\n',
    });
    const r = analyzeSource(path.join(root, 'app/pipeline.ts'));
    expect(r.root).toBe(path.join(root, 'app'));
    expect(r.files).toEqual(['lib/helper.ts', 'pipeline.ts']);
    expect(r.packages).toEqual(['@acme/chunks', 'lodash', 'zod']);
    expect(r.issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      `pipeline.ts:5: imports "../shared/util.ts", which is outside the project (${path.join(root, 'app')}) and will not be in the image`,
      'pipeline.ts:6: imports "lodash", which no package.json between this file and the project root declares in dependencies',
      'pipeline.ts:8: imports "./missing.ts", which does not exist',
      'lib/helper.ts:1: imports "@acme/chunks", which no package.json between this file and the project root declares in dependencies',
    ]);
    expect(r.issues[1]?.hint).toBe('add it: pnpm add lodash (a devDependency is not installed in a production image)');
  });

  it('turns doc comments on top-level definitions into descriptions, never replacing a given one', () => {
    const root = project({
      'app/package.json': JSON.stringify({ name: 'app', dependencies: { '@sluice/sdk': '*' } }),
      'app/pipeline.ts': [
        "import { component as def, pipeline, containerComponent } from '@sluice/sdk';",
        '/** Loads the rows.',
        ' *',
        ' * Twice if needed.',
        ' * @example load()',
        ' */',
        "export const load = def({ name: 'load', run: () => {} });",
        '/** Not used: the config has its own. */',
        "export const keep = def({ name: 'keep', description: 'given', run: () => {} });",
        "export const bare = containerComponent({ name: 'bare', image: 'a', command: () => ['x'] });",
        '/** The whole thing. */',
        "export default pipeline({ name: 'whole' }, () => {",
        "  /** inside: ignored */ const inner = def({ name: 'inner', run: () => {} });",
        '  void inner;',
        '});',
      ].join('\n'),
    });
    const r = analyzeSource(path.join(root, 'app/pipeline.ts'));
    expect(r.descriptions).toEqual({ load: 'Loads the rows.\n\nTwice if needed.', whole: 'The whole thing.' });
    expect(r.issues).toEqual([]);
  });

  it('fills missing descriptions in the IR without changing component keys', async () => {
    const mod = await import('./fixtures/source-check/pipeline.ts');
    const ir = toIR(mod.default);
    const r = analyzeSource(path.join(repoRoot, 'packages/compiler/test/fixtures/source-check/pipeline.ts'));
    const described = withDescriptions(ir, r.descriptions);
    expect(Object.keys(described.components)).toEqual(Object.keys(ir.components));
    expect(Object.values(described.components).map((c) => c.description)).toEqual(['Counts to n.']);
    expect(described.description).toBe('Counts once.');
  });
});

describe('sluice compile checks the source before writing a manifest', () => {
  type CommandT = Parameters<typeof registerCompile>[0];
  const { Command } = createRequire(path.join(repoRoot, 'packages/runner/package.json'))('commander') as { Command: new () => CommandT };
  const file = path.join(repoRoot, 'packages/compiler/test/fixtures/source-check/pipeline.ts');
  let err: string[];
  beforeEach(() => {
    err = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err.push(String(s)); return true; });
    process.exitCode = undefined;
  });
  afterEach(() => { vi.restoreAllMocks(); process.exitCode = undefined; });
  const run = async (args: string[]) => {
    const program = new Command();
    program.exitOverride();
    registerCompile(program, { loadPipeline: async (f) => (await import(path.resolve(f))).default });
    await program.parseAsync(['node', 'sluice', 'compile', file, ...args]);
  };

  it('refuses an undeclared package and writes nothing; --no-source-check lets it through', async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'sluice-src-')), 'w.yaml');
    await run(['-o', out]);
    expect(process.exitCode).toBe(2); // a rejected pipeline is bad input: exit 2
    expect(err.join('')).toContain('packages/compiler/test/fixtures/source-check/pipeline.ts:2: imports "ajv", which no package.json between this file and the project root declares in dependencies');
    expect(existsSync(out)).toBe(false);
    process.exitCode = undefined;
    await run(['-o', out, '--no-source-check']);
    expect(process.exitCode).toBeUndefined();
    expect(existsSync(out)).toBe(true);
  });
});
