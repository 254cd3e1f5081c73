/** The example compiles to Argo: golden YAML, deterministic, schema-valid, references intact. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toIR, type Pipeline } from '@sluice/sdk';
import { compile } from '@sluice/compiler';
// The compiler's own oracles (Argo JSON schema + CRD schema, reference integrity).
import { haveSchemas, referenceErrors, schemaErrors, skipReason } from '../../../packages/compiler/test/helpers/argo.ts';
import * as mod from '../pipeline.ts';

const ENTRY = 'examples/batch-inference/pipeline.ts';
const update = process.env.UPDATE_GOLDEN === '1' && !process.env.CI;

const variants: Record<string, Pipeline<any, any>> = { 'batch-inference': mod.default };

describe('batch-inference compiles', () => {
  for (const [name, p] of Object.entries(variants)) {
    describe(name, () => {
      const options = { entry: ENTRY, params: { outputDir: '/mnt/batch-parts' } };
      const result = compile(toIR(p), options);
      const file = fileURLToPath(new URL(`../golden/${name}.yaml`, import.meta.url));

      it('matches its golden file', () => {
        if (update) {
          mkdirSync(fileURLToPath(new URL('../golden/', import.meta.url)), { recursive: true });
          writeFileSync(file, result.yaml);
          return;
        }
        if (!existsSync(file)) throw new Error(`golden file ${file} is missing; run with UPDATE_GOLDEN=1 (never in CI) and review it`);
        expect(result.yaml, `output differs from ${file}; if intended, rerun with UPDATE_GOLDEN=1 and review the diff`).toBe(readFileSync(file, 'utf8'));
      });
      it('is deterministic', () => expect(compile(toIR(p), options).yaml).toBe(result.yaml));
      it('parses back to the same objects', () => {
        const docs = result.yaml.split(/^---\n/m).map((d) => parse(d, { version: '1.1' }));
        expect(docs).toEqual(JSON.parse(JSON.stringify(result.objects)));
      });
      it('has intact references', () => {
        for (const o of result.objects) expect(referenceErrors(o)).toEqual([]);
      });
      it.skipIf(!haveSchemas)(`validates against the Argo schemas${haveSchemas ? '' : ` (${skipReason})`}`, () => {
        for (const o of result.objects) expect(schemaErrors(o)).toEqual([]);
      });
    });
  }
});
