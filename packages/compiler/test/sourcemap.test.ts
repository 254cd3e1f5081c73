/**
 * The compile source map: every emitted template and DAG task name maps to a real IR node (or is
 * a chunk), in `compile()`'s result and in the entry object's annotation.
 */
import { describe, expect, it } from 'vitest';
import type { NodeIR, PipelineIR } from '@sluice/sdk';
import { compile, readSourceMap, taskNode, type SourceMap } from '../src/index.ts';
import { fixtures } from './fixtures.ts';
import { bigPipeline } from './helpers/big.ts';
import { fn, loop, lit, item, p, pipe, task } from './helpers/ir.ts';

type Obj = { [k: string]: unknown };
type Task = { name: string; template?: string; templateRef?: { name: string; template: string } };

/** IR node id -> kind, per scope ('' = the pipeline, else a nested pipeline component's hash). */
function nodesByScope(ir: PipelineIR): Map<string, Map<string, NodeIR['kind']>> {
  const walk = (nodes: readonly NodeIR[], into: Map<string, NodeIR['kind']>): void => {
    for (const n of nodes) {
      into.set(n.id, n.kind);
      if (n.kind === 'condition') { walk(n.then, into); walk(n.else, into); } else if (n.kind === 'loop') walk(n.body, into);
    }
  };
  const out = new Map<string, Map<string, NodeIR['kind']>>();
  const root = new Map<string, NodeIR['kind']>();
  walk(ir.dag, root);
  if (ir.exitHandler) root.set(ir.exitHandler.id, 'task');
  out.set('', root);
  for (const [hash, c] of Object.entries(ir.components)) if (c.kind === 'pipeline') { const m = new Map<string, NodeIR['kind']>(); walk(c.dag, m); out.set(hash, m); }
  return out;
}

function templatesOf(objects: readonly Obj[]): Obj[] {
  return objects.flatMap((o) => (((o.kind === 'CronWorkflow' ? (o.spec as Obj).workflowSpec : o.spec) as Obj).templates as Obj[]));
}

/** Every problem with the map: a template or task left out, or pointing at nothing real. */
function mapErrors(ir: PipelineIR, objects: readonly Obj[], map: SourceMap): string[] {
  const errors: string[] = [];
  const scopes = nodesByScope(ir);
  for (const t of templatesOf(objects)) {
    const name = t.name as string;
    const origin = map.templates[name];
    if (!origin) { errors.push(`template ${name} is not in the map`); continue; }
    const scope = scopes.get(origin.scope);
    if (!scope) errors.push(`template ${name}: unknown scope ${origin.scope}`);
    const want = { then: 'condition', else: 'condition', loop: 'loop', parallelism: 'loop' } as const;
    if (origin.kind in want && scope?.get(origin.node!) !== want[origin.kind as keyof typeof want]) errors.push(`template ${name} (${origin.kind}): ${origin.node} is no ${want[origin.kind as keyof typeof want]} of its scope`);
    if (origin.kind === 'component' || origin.kind === 'nested') {
      const c = ir.components[origin.component!];
      if (!c || (c.kind === 'pipeline') !== (origin.kind === 'nested') || c.name !== origin.name) errors.push(`template ${name}: component ${origin.component} does not match`);
    }
    const tasks = ((t.dag as Obj | undefined)?.tasks as Task[] | undefined) ?? [];
    for (const x of tasks) {
      if (!Object.hasOwn(map.tasks[name] ?? {}, x.name)) { errors.push(`${name}/${x.name} is not in the map`); continue; }
      const id = map.tasks[name]![x.name]!;
      const callee = map.templates[x.templateRef?.template ?? x.template!];
      if (id === null) { if (callee?.kind !== 'chunk') errors.push(`${name}/${x.name} maps to null but calls a ${callee?.kind}`); continue; }
      if (!scope?.has(id)) errors.push(`${name}/${x.name} maps to ${id}, no node of scope "${origin.scope}"`);
      if (x.templateRef && callee?.document !== x.templateRef.name) errors.push(`${name}/${x.name}: calls ${x.templateRef.name}/${x.templateRef.template}, the map puts it in ${callee?.document}`);
    }
  }
  return errors;
}

/** The annotation's compact map names every task as the full map does. */
function annotationErrors(objects: readonly Obj[], map: SourceMap): string[] {
  const entry = objects[objects.length - 1]!;
  const compact = readSourceMap(entry as never);
  if (!compact) return ['no source map annotation'];
  const errors: string[] = [];
  if (JSON.stringify(compact.templates) !== JSON.stringify(map.templates)) errors.push('templates differ');
  for (const [dag, tasks] of Object.entries(map.tasks)) for (const [name, id] of Object.entries(tasks)) if (taskNode(compact, dag, name) !== id) errors.push(`${dag}/${name}: ${String(taskNode(compact, dag, name))} != ${String(id)}`);
  return errors;
}

describe('source map', () => {
  for (const [name, f] of Object.entries(fixtures)) {
    it(`${name}: every template and DAG task maps to a real IR node, also through the annotation`, () => {
      const r = compile(f.ir, f.options);
      expect(mapErrors(f.ir, r.objects as Obj[], r.sourceMap)).toEqual([]);
      expect(annotationErrors(r.objects as Obj[], r.sourceMap)).toEqual([]);
      expect(JSON.parse(JSON.stringify(r.sourceMap))).toEqual(r.sourceMap);
    });
  }

  it('names the kinds of the condition, loop and nested templates', () => {
    const { sourceMap } = compile(fixtures.split!.ir, fixtures.split!.options);
    expect(sourceMap.templates.big).toMatchObject({ kind: 'then', node: 'big', scope: '' });
    expect(sourceMap.templates['big-else']).toMatchObject({ kind: 'else', node: 'big' });
    expect(sourceMap.templates['sweep-par']).toMatchObject({ kind: 'parallelism', node: 'sweep' });
    expect(sourceMap.templates.sweep).toMatchObject({ kind: 'loop', node: 'sweep' });
    expect(sourceMap.templates['double-square']).toMatchObject({ kind: 'nested', scope: 'h8', component: 'h8' });
    expect(sourceMap.templates['exit-handler']).toMatchObject({ kind: 'exit-handler', scope: '' });
    expect(sourceMap.tasks.main).toMatchObject({ prep: 'prep', big: 'big', 'big-else': 'big', sweep: 'sweep', report: 'report' });
    expect(sourceMap.tasks['double-square']).toEqual({ first: 'first', second: 'second' });
    expect(sourceMap.templates.sweep!.document).toMatch(/^split-[0-9a-f]{10}-\d$/);
  });

  it('maps renamed names: -2 suffixes, chunks c0… (digit-first ids are refused by the SDK name rule)', () => {
    const digit = pipe('renames', { s: fn('sweep', { x: p('number') }, { y: p('number') }) }, [loop('1st', lit([1, 2]), [task('inner', 's', { x: item('1st') })])]);
    expect(() => compile(digit, { entry: 'p.ts' })).toThrow(/"1st" starts with a digit/);
    const ir = pipe('renames', { s: fn('sweep', { x: p('number') }, { y: p('number') }) }, [
      loop('first', lit([1, 2]), [task('inner', 's', { x: item('first') })]),
      loop('sweep', lit([3]), [task('body', 's', { x: item('sweep') })]),
    ]);
    const r = compile(ir, { entry: 'p.ts' });
    expect(r.sourceMap.tasks.main).toEqual({ first: 'first', sweep: 'sweep' });
    expect(r.sourceMap.templates.first).toMatchObject({ kind: 'loop', node: 'first' });
    // The component template took the name `sweep` first (inside loop first); the loop gets `sweep-2`.
    expect(r.sourceMap.templates.sweep).toMatchObject({ kind: 'component', component: 's', name: 'sweep' });
    expect(r.sourceMap.templates['sweep-2']).toMatchObject({ kind: 'loop', node: 'sweep' });
    expect(mapErrors(ir, r.objects as Obj[], r.sourceMap)).toEqual([]);
    // Nothing renamed at task level: the annotation lists no task.
    expect(readSourceMap(r.entry as never)?.tasks ?? {}).toEqual({});

    const big = bigPipeline('chain', 450);
    const b = compile(big, { entry: 'p.ts' });
    expect(b.sourceMap.tasks.main).toEqual({ c0: null, c1: null, c2: null });
    expect(b.sourceMap.templates['main-c1']).toEqual({ kind: 'chunk', scope: '' });
    expect(b.sourceMap.tasks['main-c1']!.t200).toBe('t200');
    expect(Object.keys(b.sourceMap.tasks['main-c2']!)).toHaveLength(50);
    expect(mapErrors(big, b.objects as Obj[], b.sourceMap)).toEqual([]);
    expect(annotationErrors(b.objects as Obj[], b.sourceMap)).toEqual([]);
  });
});
