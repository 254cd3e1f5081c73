/**
 * Any size compiles to objects the API server accepts: 10,000 tasks of every shape. A spec over
 * the size budget is split into library WorkflowTemplates (templateRef); every document stays
 * under 1 MiB as JSON, within Argo's limits, valid against the CRD schemas, with intact
 * references across documents, and (when tools/.bin/argo-lint is built) passes Argo's own lint.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SluiceValidationError } from '@sluice/sdk';
import { compile } from '../src/index.ts';
import { fn, lit, p, pipe, task } from './helpers/ir.ts';
import { bigPipeline, type Shape } from './helpers/big.ts';
import { haveSchemas, referenceErrors, repoRoot, schemaErrors, skipReason } from './helpers/argo.ts';

type Obj = { [k: string]: unknown };
const MiB = 1024 * 1024;
const BUDGET = 768 * 1024;

function templates(o: Obj): Obj[] {
  return (o.spec as Obj).templates as Obj[];
}

function dagSizes(objects: readonly Obj[]): number[] {
  return objects.flatMap((o) => templates(o).filter((t) => t.dag).map((t) => ((t.dag as Obj).tasks as unknown[]).length));
}

/** Tasks that run a pod, over every document (DAG templates are never copied; pod templates may be). */
function podTaskCount(objects: readonly Obj[]): number {
  let n = 0;
  for (const o of objects) {
    const pods = new Set(templates(o).filter((t) => t.container).map((t) => t.name));
    for (const t of templates(o)) for (const task of ((t.dag as Obj | undefined)?.tasks as Obj[] | undefined) ?? []) if (!task.templateRef && pods.has(task.template)) n++;
  }
  return n;
}

const argoLint = path.join(repoRoot, 'tools/.bin/argo-lint');
const lintSkip = existsSync(argoLint) ? undefined : `${argoLint} is missing (bash tools/setup.sh builds it): argo-lint check skipped`;
if (lintSkip && process.env.SLUICE_ORACLES_REQUIRED === '1') throw new Error(`SLUICE_ORACLES_REQUIRED=1 but ${lintSkip}`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-size-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('10,000 tasks in ordering-only lanes', () => {
  const { objects, yaml } = compile(bigPipeline('lanes', 10_000), { entry: 'pipelines/big.ts' });
  const wf = objects[0] as Obj;

  it('is one Workflow under 1 MiB (YAML and stored JSON)', () => {
    expect(objects).toHaveLength(1);
    expect(wf.kind).toBe('Workflow');
    expect(yaml.length).toBeLessThan(2 * MiB);
    expect(Buffer.byteLength(JSON.stringify(wf))).toBeLessThan(BUDGET);
  });
  it('keeps every DAG within 200 tasks and the workflow within 200 templates', () => {
    expect(Math.max(...dagSizes(objects as Obj[]))).toBeLessThanOrEqual(200);
    expect(templates(wf).length).toBeLessThanOrEqual(200);
    expect(podTaskCount(objects as Obj[])).toBe(10_000);
  });
  it('has one template per component', () => {
    expect(templates(wf).filter((t) => t.container).map((t) => t.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `step${i}`).sort());
  });
  it('has intact references', () => expect(referenceErrors(wf)).toEqual([]));
  it.skipIf(!haveSchemas)(`validates against the full CRD schema${haveSchemas ? '' : ` (${skipReason})`}`, () => {
    expect(schemaErrors(wf)).toEqual([]);
  });
});

describe('10,000 tasks with data on every edge: split into library WorkflowTemplates', () => {
  const files: string[] = [];
  for (const shape of ['chain', 'fanout', 'grid'] as const satisfies readonly Shape[]) {
    describe(shape, () => {
      const ir = bigPipeline(shape, 10_000);
      const r = compile(ir, { entry: 'pipelines/big.ts' });
      const objects = r.objects as Obj[];
      const file = path.join(dir, `${shape}.yaml`);
      writeFileSync(file, r.yaml);
      files.push(file);

      it('is libraries first, then the entry Workflow, each under the budget as JSON', () => {
        expect(objects.length).toBeGreaterThan(1);
        expect(objects.map((o) => o.kind)).toEqual([...objects.slice(1).map(() => 'WorkflowTemplate'), 'Workflow']);
        expect(r.entry).toBe(objects[objects.length - 1]);
        for (const o of objects) expect(Buffer.byteLength(JSON.stringify(o))).toBeLessThan(BUDGET);
        // A single Workflow would not have fitted (so the split is needed).
        expect(objects.reduce((n, o) => n + Buffer.byteLength(JSON.stringify(templates(o))), 0)).toBeGreaterThan(BUDGET);
      });
      it('keeps Argo limits in every document and runs every task once', () => {
        expect(Math.max(...dagSizes(objects))).toBeLessThanOrEqual(200);
        for (const o of objects) expect(templates(o).length).toBeLessThanOrEqual(200);
        expect(podTaskCount(objects)).toBe(shape === 'grid' ? 100 * 100 : 10_000);
      });
      it('has intact references across documents', () => {
        for (const o of objects) expect(referenceErrors(o, objects)).toEqual([]);
        const refs = objects.flatMap((o) => templates(o).flatMap((t) => (((t.dag as Obj | undefined)?.tasks as Obj[] | undefined) ?? []).filter((x) => x.templateRef)));
        expect(refs.length).toBeGreaterThan(0);
      });
      it('names libraries by content, deterministically', () => {
        const again = compile(ir, { entry: 'pipelines/big.ts' });
        expect(again.yaml).toBe(r.yaml);
        for (const o of objects.slice(0, -1)) expect((o.metadata as Obj).name).toMatch(new RegExp(`^big-${shape}-[0-9a-f]{10}-\\d+$`));
        const changed = compile(bigPipeline(shape, 9_999), { entry: 'pipelines/big.ts' });
        expect((changed.objects[0]!.metadata as Obj).name).not.toBe((objects[0]!.metadata as Obj).name);
      });
      it('maps every library template in the source map', () => {
        for (const o of objects.slice(0, -1)) for (const t of templates(o)) if (t.dag) expect(r.sourceMap.templates[t.name as string]?.document).toBe((o.metadata as Obj).name);
      });
      it.skipIf(!haveSchemas)(`validates against the Argo schemas${haveSchemas ? '' : ` (${skipReason})`}`, () => {
        for (const o of objects) expect(schemaErrors(o)).toEqual([]);
      });
    });
  }
  it.skipIf(lintSkip !== undefined)(`passes argo-lint (offline, strict; templateRefs resolved in the file)${lintSkip ? ` (${lintSkip})` : ''}`, () => {
    const out = execFileSync(argoLint, ['-o', 'json', ...files], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const results = JSON.parse(out) as { file: string; linted: boolean; errors: string[] }[];
    expect(results.map((x) => [path.basename(x.file), x.linted, x.errors])).toEqual(files.map((f) => [path.basename(f), true, []]));
  }, 900_000);
});

describe('a template too large for any document', () => {
  it('is refused with one located error, not emitted', () => {
    // The literal sits in the root DAG, which stays in the entry object.
    const ir = pipe('huge', { c: fn('echo', { note: p('string') }) }, [task('echo', 'c', { note: lit('x'.repeat(1_100_000)) })]);
    let err: unknown;
    try { compile(ir, { entry: 'p.ts' }); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(SluiceValidationError);
    const issues = (err as SluiceValidationError).issues;
    expect(issues.map((i) => [i.code, i.path])).toEqual([['argo.size', 'huge']]);
    expect(issues[0]!.message).toMatch(/^the entry object \(with the root DAG\) takes about 11\d{5} bytes as JSON; the API server accepts about 1048576$/);
  });
});
