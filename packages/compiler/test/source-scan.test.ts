/**
 * The scanner that replaced ts-morph in source analysis (`source-scan.ts`) must read the same
 * facts as ts-morph: held against ts-morph itself over every example, every test fixture and a
 * corpus of the syntax that could fool a scanner (type-only imports, import types, regular
 * expressions and divisions, templates, comments TypeScript counts as trailing, statements
 * without semicolons).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanModule } from '../src/source-scan.ts';
import { tsMorphFacts } from '../src/source-tsmorph.ts';
import { analyzeSource, moduleFacts } from '../src/source.ts';
import { repoRoot } from './helpers/argo.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-scan-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CORPUS: Record<string, string> = {
  imports: [
    "import type { A } from './types-a';",
    "import { type B, type C } from './types-b';",
    "import { type D, e } from './mixed';",
    "import type from './default-named-type';",
    "import type, { f } from './default-type-and-f';",
    "import type * as NS from './ns-types';",
    "import {} from './empty-braces';",
    "import './side-effect';",
    "import def, * as all from './def-and-all';",
    "import { 'quoted name' as q } from './quoted';",
    "import fs = require('fs');",
    "import json from './data.json' with { type: 'json' };",
    "export type { T } from './export-types';",
    "export { type U, v } from './export-mixed';",
    'export * from "./star";',
    "export * as everything from './star-as';",
    'export type * from "./type-star";',
    'export { w };',
    "const w = 1; let x: import('./import-type').X; type Y = typeof import('./typeof-import');",
    "const later = () => import('./dynamic');",
    "const m = await import('./awaited').then((x) => x);",
    "const n = import(`./template-not-literal`);",
    "const o = obj.import('./member-call');",
    'console.log(import.meta.url);',
  ].join('\n'),
  lexing: [
    "import { component, pipeline as pl } from '@sluice/sdk';",
    'const re = /["\'`/]+[/]\\//g; const div = a[i]! / 2 / (b) / c;',
    "const t = `a ${`nested ${component({ name: 'in-template', run: () => {} })}`} b`;",
    "const s = 'it\\'s \"quoted\" // not a comment'; /* block */",
    "if (x) /not-division/.test(y);",
    'const q = x ? component({ name: "ternary" }) : null;',
    "/** Described. */ const sameLine = 1; /** Trailing, not leading. */ export const c1 = component({ name: 'c1', run: () => {} });",
    '/** Leading, then a line comment */',
    '// last',
    "export const c2 = component({ name: 'c2', run: () => {} });",
    '/** Escapes in the name. */',
    "export const c3 = component({ name: 'c\\u0033\\x21', run() {} });",
    '/** Has one. */',
    "export const c4 = component({ description: 'given', name: 'c4' });",
    '/** Not a literal. */',
    "export const c5 = component({ name: 'c' + 5 });",
    '/** Shorthand name first. */',
    "export const c6 = component({ name, ...{ name: 'c6' } });",
    '/** Generic call, no semicolons */',
    "export const c7 = component<{ a: number }>({ name: 'c7', run: async ({ a }) => { return { a: a > 1 ? 2 : 3 } } })",
    '/** Next statement after ASI */',
    "export const c8 = pl({ name: 'c8' }, () => {",
    "  /** inside a block */ const inner = component({ name: 'inner' })",
    '  return inner',
    '})',
    'class K {',
    "  /** member */ static made = component({ name: 'in-class' });",
    "  component(x) { return component({ name: 'in-method' }); }",
    '}',
    "export default { nested: component({ name: 'in-object' }), component() {} };",
    '/** Described default. */',
    "export const c9 = (() => component({ name: 'arrow-expression' }))",
    "namespace N { /** ns */ export const c = component({ name: 'in-namespace' }) }",
  ].join('\n'),
};

/** Files of the repository the scanner must read as ts-morph does. */
function repositoryFiles(): string[] {
  const out = execFileSync('git', ['ls-files', 'examples', 'packages/*/test/fixtures', 'packages/compiler/src', 'packages/sdk/src/pipeline.ts'], { cwd: repoRoot, encoding: 'utf8' });
  return out.split('\n').filter((f) => /\.(m|c)?[jt]s$/.test(f) && !f.endsWith('.d.ts')).map((f) => path.join(repoRoot, f));
}

describe('source scanner', () => {
  it('reads what ts-morph reads, over the corpus', () => {
    for (const [name, text] of Object.entries(CORPUS)) {
      const file = path.join(tmp, `${name}.ts`);
      writeFileSync(file, text);
      expect(scanModule(text), name).toEqual(tsMorphFacts(file));
    }
    // spot checks, so that agreeing with ts-morph is not agreeing on nothing
    const imports = scanModule(CORPUS.imports!).imports.map((i) => `${i.line}:${i.spec}`);
    expect(imports).toEqual(['3:./mixed', '4:./default-named-type', '5:./default-type-and-f', '7:./empty-braces', '8:./side-effect', '9:./def-and-all', '10:./quoted', '12:./data.json', '14:./export-mixed', '15:./star', '16:./star-as', '20:./dynamic', '21:./awaited']);
    const defs = scanModule(CORPUS.lexing!).definitions.filter((d) => d.comment).map((d) => d.name);
    expect(defs).toEqual(['c3!', 'c7', 'c8', 'arrow-expression']);
  });

  it('reads what ts-morph reads, over every example, test fixture and the compiler\'s sources', () => {
    const files = repositoryFiles();
    expect(files.length).toBeGreaterThan(20);
    for (const f of files) expect(scanModule(readFileSync(f, 'utf8')), path.relative(repoRoot, f)).toEqual(tsMorphFacts(f));
  }, 300_000);

  it('gives the same report as ts-morph for every example pipeline', () => {
    const entries = execFileSync('git', ['ls-files', 'examples/*/pipeline.ts', 'examples/*/*.pipeline.ts'], { cwd: repoRoot, encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    expect(entries.length).toBeGreaterThan(3);
    for (const e of entries) {
      const file = path.join(repoRoot, e);
      expect(analyzeSource(file), e).toEqual(analyzeSource(file, { read: tsMorphFacts }));
    }
  }, 300_000);

  it('sends JSX, and text it cannot follow, to ts-morph', () => {
    const jsx = path.join(tmp, 'view.tsx');
    writeFileSync(jsx, "import x from './a';\nexport const v = <p>Don't {x}</p>;\n");
    expect(moduleFacts(jsx).imports).toEqual([{ spec: './a', line: 1 }]);
    const odd = path.join(tmp, 'odd.ts');
    writeFileSync(odd, "import y from './b';\nconst broken = { ;\n");
    expect(() => scanModule(readFileSync(odd, 'utf8'))).toThrow(/unbalanced/);
    expect(moduleFacts(odd).imports).toEqual([{ spec: './b', line: 1 }]);
  });
});
