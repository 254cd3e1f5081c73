/**
 * Parity with the compiled Argo workflow: for the same pipeline, the tasks the local runner runs
 * and the order it runs them in match what the compiled manifest's DAGs prescribe.
 */
import { compile } from '@sluice/compiler';
import type { NodeIR, PipelineIR } from '@sluice/sdk';
import { describe, expect, it } from 'vitest';
import { runPipeline, type RunEvent } from '../src/index.ts';
import { nodeDeps } from '../src/engine/values.ts';
import { fn, item, lit, out, pipeline, task, tmp } from './helpers.ts';

interface DagTask { name: string; template: string; depends?: string; dependencies?: string[]; withItems?: unknown[]; when?: string }
interface Template { name: string; dag?: { tasks: DagTask[] }; container?: unknown; script?: unknown }

function dependsOf(t: DagTask): string[] {
  if (t.dependencies) return [...t.dependencies].sort();
  if (!t.depends) return [];
  return t.depends.split(/&&|\|\|/).map((s) => s.replace(/[()!\s]/g, '').replace(/\.(Succeeded|Failed|Errored|Skipped|Omitted|Daemoned|AnySucceeded|AllFailed)$/, '')).filter(Boolean).sort();
}

/**
 * Walks the compiled workflow like Argo would, with the branch decisions the runner took, and
 * returns the leaf tasks that run (as runner keys) and the ordering edges between leaf tasks.
 */
function argoPlan(templates: Map<string, Template>, entry: string, branch: (cond: string) => 'then' | 'else') {
  const leaves: string[] = [];
  const edges: [string, string][] = [];
  const walkDag = (tpl: Template, prefix: string): string[] => {
    const mine: string[] = [];
    const byName = new Map<string, string[]>();
    const tasks = tpl.dag?.tasks ?? [];
    for (const t of tasks) {
      const isElse = t.template.endsWith('-else') && t.when !== undefined;
      const condId = isElse ? t.name.replace(/-else$/, '') : t.name;
      if (t.when !== undefined && branch(condId) !== (isElse ? 'else' : 'then')) {
        byName.set(t.name, []);
        continue;
      }
      const sub = templates.get(t.template) as Template;
      let got: string[];
      if (sub.dag) {
        if (t.withItems) got = t.withItems.flatMap((_, i) => walkDag(sub, `${prefix}${t.name}[${i}]/`));
        else if (t.when !== undefined) got = walkDag(sub, prefix); // a condition adds no path segment
        else got = walkDag(sub, `${prefix}${t.name}/`); // nested pipeline
      } else {
        got = [`${prefix}${t.name}`];
        leaves.push(got[0] as string);
      }
      byName.set(t.name, got);
    }
    for (const t of tasks) for (const d of dependsOf(t)) for (const a of byName.get(d) ?? []) for (const b of byName.get(t.name) ?? []) edges.push([a, b]);
    for (const v of byName.values()) mine.push(...v);
    return mine;
  };
  walkDag(templates.get(entry) as Template, '');
  return { leaves: leaves.sort(), edges };
}

const add = fn('add', { inputs: { a: 'number', b: 'number' }, outputs: { sum: 'number' } }, async (i) => ({ sum: (i.a as number) + (i.b as number) }));

function samplePipeline(threshold: number) {
  const dag: NodeIR[] = [
    task('a', add, { a: lit(1), b: lit(2) }),
    task('b', add, { a: out('a', 'sum'), b: lit(2) }),
    task('c', add, { a: lit(1), b: lit(2) }, ['a']),
    { kind: 'condition', id: 'cond', after: [], predicate: { kind: 'compare', op: '>', left: out('b', 'sum'), right: lit(threshold) }, then: [task('d', add, { a: lit(1), b: lit(1) })], else: [task('e', add, { a: lit(1), b: lit(1) })] },
    { kind: 'loop', id: 'lp', items: lit([1, 2, 3]), after: ['c'], body: [task('f', add, { a: item('lp'), b: lit(1) }), task('h', add, { a: out('f', 'sum'), b: lit(1) })] },
    task('g', add, { a: lit(1), b: lit(1) }, ['lp', 'cond']),
  ];
  return pipeline(`parity-${threshold}`, [add], dag, { exitHandler: task('x', add, { a: lit(1), b: lit(1) }) });
}

async function check(p: { ir: PipelineIR }) {
  const events: RunEvent[] = [];
  const r = await runPipeline(p, { storeDir: tmp(), mode: 'inprocess', concurrency: 3, noCache: true, onEvent: (e) => events.push(e) });
  expect(r.status).toBe('succeeded');
  const decided = new Map(events.filter((e) => e.type === 'condition.decided').map((e) => [e.key as string, e.message as 'then' | 'else']));
  const wf = compile(p.ir, { entry: 'p.ts', image: 'img' }).objects.find((o) => (o as { kind?: string }).kind === 'Workflow') as unknown as { spec: { entrypoint: string; onExit?: string; templates: Template[] } };
  const templates = new Map(wf.spec.templates.map((t) => [t.name, t]));
  const main = argoPlan(templates, wf.spec.entrypoint, (c) => decided.get(c) ?? 'then');
  const exit = wf.spec.onExit ? argoPlan(templates, wf.spec.onExit, () => 'then') : { leaves: [], edges: [] };
  // the same tasks run
  const ran = Object.entries(r.tasks).filter(([, t]) => t.state === 'succeeded' && t.attempts > 0).map(([k]) => k).sort();
  expect(ran).toEqual([...main.leaves, ...exit.leaves].sort());
  // every Argo ordering edge holds in the runner: a finished before b started
  const at = (type: string, key: string) => events.findIndex((e) => e.type === type && 'key' in e && e.key === key);
  for (const [a, b] of main.edges) expect(at('task.succeeded', a), `${a} before ${b}`).toBeLessThan(at('task.started', b));
  for (const leaf of main.leaves) expect(at('task.succeeded', leaf)).toBeLessThan(at('task.started', exit.leaves[0] ?? ''));
  return { main, decided };
}

describe('parity with the compiled Argo workflow', () => {
  it('runs the same tasks in an order the manifest allows (then branch)', async () => {
    const { decided } = await check(samplePipeline(1));
    expect(decided.get('cond')).toBe('then');
  });
  it('runs the same tasks in an order the manifest allows (else branch)', async () => {
    const { decided } = await check(samplePipeline(100));
    expect(decided.get('cond')).toBe('else');
  });
  it('has the same dependency sets as the manifest’s DAG tasks', () => {
    const p = samplePipeline(1);
    const wf = compile(p.ir, { entry: 'p.ts', image: 'img' }).objects.find((o) => (o as { kind?: string }).kind === 'Workflow') as unknown as { spec: { templates: Template[] } };
    const main = wf.spec.templates.find((t) => t.name === 'main') as Template;
    for (const n of p.ir.dag) {
      const argo = main.dag?.tasks.find((t) => t.name === n.id) as DagTask;
      const expected = nodeDeps(n).flatMap((d) => (p.ir.dag.find((m) => m.id === d)?.kind === 'condition' ? [d, `${d}-else`] : [d])).sort();
      expect(dependsOf(argo), n.id).toEqual(expected);
    }
  });
});
