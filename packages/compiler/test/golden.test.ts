import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.ts';
import { fixtures } from './fixtures.ts';
import { haveSchemas, referenceErrors, schemaErrors, skipReason } from './helpers/argo.ts';

const goldenDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'golden');
const update = process.env.UPDATE_GOLDEN === '1' && !process.env.CI;

/** Compares with the golden file; rewrites it only under UPDATE_GOLDEN=1 outside CI. */
export function expectGolden(name: string, text: string): void {
  const file = path.join(goldenDir, `${name}.yaml`);
  if (update) {
    mkdirSync(goldenDir, { recursive: true });
    writeFileSync(file, text);
    return;
  }
  if (!existsSync(file)) throw new Error(`golden file ${file} is missing; run with UPDATE_GOLDEN=1 (never in CI) and review it`);
  expect(text, `output differs from ${file}; if the change is intended, rerun with UPDATE_GOLDEN=1 and review the diff`).toBe(readFileSync(file, 'utf8'));
}

describe('golden fixtures', () => {
  for (const [name, f] of Object.entries(fixtures)) {
    describe(name, () => {
      const result = compile(f.ir, f.options);
      it('matches its golden file', () => expectGolden(name, result.yaml));
      it('is deterministic', () => expect(compile(f.ir, f.options).yaml).toBe(result.yaml));
      it('parses back to the same objects', () => {
        const docs = result.yaml.split(/^---\n/m).map((d) => parse(d, { version: '1.1' }));
        expect(docs).toEqual(JSON.parse(JSON.stringify(result.objects)));
      });
      it('has intact references', () => {
        for (const o of result.objects) expect(referenceErrors(o, result.objects)).toEqual([]);
      });
      it.skipIf(!haveSchemas)(`validates against the Argo schemas${haveSchemas ? '' : ` (${skipReason})`}`, () => {
        for (const o of result.objects) expect(schemaErrors(o)).toEqual([]);
      });
    });
  }
});
