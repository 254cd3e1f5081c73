/**
 * Every example compiles to Argo with `sluice compile` (what a user runs, loading the pipeline the
 * way pods do, so the component hashes are the ones pods look up): output equal to its golden
 * YAML (examples/<name>/golden/), deterministic, references intact, valid against the Argo
 * schemas. One file for all examples so that the schemas are compiled once. `--no-code-hash`: the
 * memoize keys cover each step's run() source only, so a golden does not change with the SDK's own
 * source (the module-graph part of the keys is pinned by runner/test/compile-memoize.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
// The compiler's own oracles (Argo JSON schema + CRD schema, reference integrity).
import { haveSchemas, referenceErrors, schemaErrors, skipReason } from '../../packages/compiler/test/helpers/argo.ts';

const update = process.env.UPDATE_GOLDEN === '1' && !process.env.CI;

const root = fileURLToPath(new URL('../../', import.meta.url));
const sluice = fileURLToPath(new URL('../../packages/runner/bin/sluice.mjs', import.meta.url));

interface Case { readonly example: string; readonly golden: string; readonly args?: readonly string[] }

const cases: Case[] = [
  { example: 'tabular-training', golden: 'tabular-training' },
  { example: 'batch-inference', golden: 'batch-inference' },
  { example: 'checkpointed-training', golden: 'checkpointed-training' },
  { example: 'checkpointed-training', golden: 'checkpointed-training-cpu', args: ['--export', 'cpu'] },
  { example: 'container-python', golden: 'container-python' },
];

/** `sluice compile examples/<example>/pipeline.ts ...` from the repository root: the YAML it prints. */
function sluiceCompile(c: Case): string {
  const r = spawnSync(process.execPath, [sluice, 'compile', `examples/${c.example}/pipeline.ts`, '--no-code-hash', ...(c.args ?? [])], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`sluice compile ${c.example} exited with ${r.status}:\n${r.stderr}`);
  return r.stdout;
}

describe('examples compile', () => {
  it('is deterministic: the same pipeline twice gives the same bytes', () => {
    expect(sluiceCompile(cases[0]!)).toBe(sluiceCompile(cases[0]!));
  });

  for (const c of cases) {
    describe(c.golden, () => {
      const yaml = sluiceCompile(c);
      const docs = yaml.split(/^---\n/m).map((d) => parse(d, { version: '1.1' }) as { kind?: unknown });
      const dir = fileURLToPath(new URL(`../${c.example}/golden/`, import.meta.url));
      const file = `${dir}${c.golden}.yaml`;

      it('matches its golden file', () => {
        if (update) {
          mkdirSync(dir, { recursive: true });
          writeFileSync(file, yaml);
          return;
        }
        if (!existsSync(file)) throw new Error(`golden file ${file} is missing; run with UPDATE_GOLDEN=1 (never in CI) and review it`);
        expect(yaml, `output differs from ${file}; if intended, rerun with UPDATE_GOLDEN=1 and review the diff`).toBe(readFileSync(file, 'utf8'));
      });
      it('is one Workflow', () => expect(docs.map((d) => d.kind)).toEqual(['Workflow']));
      it('has intact references', () => {
        for (const o of docs) expect(referenceErrors(o as never)).toEqual([]);
      });
      it.skipIf(!haveSchemas)(`validates against the Argo schemas${haveSchemas ? '' : ` (${skipReason})`}`, () => {
        for (const o of docs) expect(schemaErrors(o)).toEqual([]);
      });
    });
  }
});
