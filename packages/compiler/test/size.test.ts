import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.ts';
import { bigPipeline } from './helpers/big.ts';
import { haveSchemas, referenceErrors, schemaErrors, skipReason } from './helpers/argo.ts';

type Obj = { [k: string]: unknown };
const MiB = 1024 * 1024;

function dagSizes(wf: Obj): number[] {
  return ((wf.spec as Obj).templates as Obj[]).filter((t) => t.dag).map((t) => ((t.dag as Obj).tasks as unknown[]).length);
}

function leafTaskCount(wf: Obj): number {
  const templates = (wf.spec as Obj).templates as Obj[];
  const dags = new Set(templates.filter((t) => t.dag).map((t) => t.name));
  let n = 0;
  for (const t of templates) for (const task of ((t.dag as Obj | undefined)?.tasks as Obj[] | undefined) ?? []) if (!dags.has(task.template)) n++;
  return n;
}

describe('10,000 tasks of ten components', () => {
  const ir = bigPipeline('lanes', 10_000);
  const { objects, yaml } = compile(ir, { entry: 'pipelines/big.ts' });
  const wf = objects[0] as Obj;

  it('is one Workflow under 1 MiB (YAML and stored JSON)', () => {
    expect(objects).toHaveLength(1);
    expect(wf.kind).toBe('Workflow');
    expect(yaml.length).toBeLessThan(MiB);
    expect(Buffer.byteLength(JSON.stringify(wf))).toBeLessThan(MiB);
  });
  it('keeps every DAG within 200 tasks and the workflow within 200 templates', () => {
    expect(Math.max(...dagSizes(wf))).toBeLessThanOrEqual(200);
    expect(((wf.spec as Obj).templates as unknown[]).length).toBeLessThanOrEqual(200);
    expect(leafTaskCount(wf)).toBe(10_000);
  });
  it('has one template per component', () => {
    const leaves = ((wf.spec as Obj).templates as Obj[]).filter((t) => t.container);
    expect(leaves.map((t) => t.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `step${i}`).sort());
  });
  it('has intact references', () => expect(referenceErrors(wf)).toEqual([]));
  it.skipIf(!haveSchemas)(`validates against the full CRD schema${haveSchemas ? '' : ` (${skipReason})`}`, () => {
    expect(schemaErrors(wf)).toEqual([]);
  });
});

describe('data on every edge', () => {
  for (const shape of ['chain', 'fanout'] as const) {
    it(`${shape} of 3,000 tasks nests into valid chunks with intact references`, () => {
      const { objects } = compile(bigPipeline(shape, 3_000), { entry: 'pipelines/big.ts' });
      const wf = objects[0] as Obj;
      expect(Math.max(...dagSizes(wf))).toBeLessThanOrEqual(200);
      expect(leafTaskCount(wf)).toBe(3_000);
      expect(referenceErrors(wf)).toEqual([]);
      if (haveSchemas) expect(schemaErrors(wf)).toEqual([]);
    });
  }
});
