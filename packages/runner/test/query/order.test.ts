/** DAG order of task keys and natural order of names (issue 9 item 17). */
import { describe, expect, it } from 'vitest';
import type { PipelineIR } from '@sluice/sdk';
import { dagOrder, naturalCompare, sortByDagOrder } from '../../src/query/order.ts';
import { progressText, taskCounts } from '../../src/query/runs.ts';

const task = (id: string, after: string[] = [], component = 'c') => ({ kind: 'task', id, component, inputs: {}, after, options: {} });
// declared out of dependency order on purpose: `late` is declared first but depends on `train`
const ir = {
  name: 'p', components: { c: { kind: 'function', name: 'c', inputs: {}, outputs: {}, defaults: {} }, n: { kind: 'pipeline', name: 'n', inputs: {}, outputs: {}, defaults: {}, dag: [task('z'), task('a', ['z'])], outputValues: {} } },
  dag: [
    task('late', ['train']),
    task('prep'),
    task('train', ['prep']),
    { kind: 'loop', id: 'each', items: { kind: 'literal', value: [] }, body: [task('score')], after: ['prep'] },
    { kind: 'condition', id: 'gate', predicate: { kind: 'literal', value: true }, then: [task('yes')], else: [task('no')], after: ['late'] },
    task('nested', ['train'], 'n'),
  ],
  exitHandler: task('cleanup'),
  params: {}, outputValues: {}, options: {},
} as unknown as PipelineIR;

describe('dagOrder', () => {
  it('puts dependencies first, loop iterations by index, branch tasks after their condition, nested tasks after their parent, the exit handler last', () => {
    const keys = ['cleanup', 'no', 'yes', 'gate', 'each[10]/score', 'each[2]/score', 'each', 'each[1]/score', 'late', 'train', 'prep', 'nested/a', 'nested/z', 'nested', 'unknown'];
    expect([...keys].sort(dagOrder(ir))).toEqual(['prep', 'train', 'late', 'each', 'each[1]/score', 'each[2]/score', 'each[10]/score', 'gate', 'yes', 'no', 'nested', 'nested/z', 'nested/a', 'cleanup', 'unknown']);
  });
});

describe('sortByDagOrder', () => {
  it('sorts items by their keys exactly as dagOrder does, without the IR by natural order', () => {
    const keys = ['cleanup', 'no', 'yes', 'gate', ...Array.from({ length: 300 }, (_, i) => `each[${(i * 7919) % 300}]/score`), 'each', 'late', 'train', 'prep', 'nested/a', 'nested/z', 'nested', 'unknown', 'b[2]', 'b[10]'];
    const items = keys.map((key, i) => ({ key, i }));
    expect(sortByDagOrder(items, (x) => x.key, ir).map((x) => x.key)).toEqual([...keys].sort(dagOrder(ir)));
    expect(sortByDagOrder(items, (x) => x.key, null).map((x) => x.key)).toEqual([...keys].sort(naturalCompare));
  });
});

describe('naturalCompare', () => {
  it('compares numbers inside names as numbers', () => {
    expect(['partitions[10]', 'partitions[2]', 'partitions[1]', 'b', 'a10', 'a9'].sort(naturalCompare)).toEqual(['a9', 'a10', 'b', 'partitions[1]', 'partitions[2]', 'partitions[10]']);
  });
});

describe('task counts', () => {
  it('counts skipped tasks apart from done ones and leaves out conditions, loops and nested pipeline rows', () => {
    const row = (key: string, state: string, component = 'c', outputs: string | null = null) => ({ key, state, component, outputs }) as never;
    const rows = [row('prep', 'succeeded'), row('train', 'cached'), row('late', 'succeeded'), row('each', 'succeeded', '', '{"iterations":2}'), row('each[0]/score', 'succeeded'), row('each[1]/score', 'failed'), row('gate', 'succeeded', ''), row('yes', 'skipped'), row('nested', 'omitted', 'n')];
    // planned: prep, train, late, 2 iterations, one branch task, nested's 2 tasks, the exit handler = 9
    const live = taskCounts(rows, ir);
    expect(live).toEqual({ total: 6, succeeded: 3, cached: 1, failed: 1, skipped: 1, omitted: 0, running: 0, pending: 3 });
    expect(progressText(live)).toBe('4 done (1 cached), 1 failed, 1 skipped, 3 not started');
    const ended = taskCounts(rows, ir, true);
    expect(progressText(ended)).toBe('4 done (1 cached), 1 failed, 1 skipped, 3 omitted');
  });

  it('plans a loop body once per recorded iteration where it holds loops, and multiplies it where it does not', () => {
    const loops = {
      ...ir, exitHandler: undefined,
      dag: [
        { kind: 'loop', id: 'outer', items: { kind: 'literal', value: [] }, after: [], body: [{ kind: 'loop', id: 'inner', items: { kind: 'literal', value: [] }, body: [task('x')], after: [] }, task('y')] },
        { kind: 'loop', id: 'many', items: { kind: 'literal', value: [] }, after: [], body: [{ kind: 'condition', id: 'g', predicate: { kind: 'literal', value: true }, then: [task('a')], else: [task('b'), task('c')], after: [] }, task('sub', [], 'n')] },
      ],
    } as unknown as PipelineIR;
    const group = (key: string, iterations: number) => ({ key, state: 'succeeded', component: '', outputs: JSON.stringify({ iterations }) }) as never;
    // outer: (2 + 1) + (3 + 1) + (0 + 1) = 8 (not 3 x the first iteration's 3); many: 4 x (max(1, 2) + nested's 2) = 16
    const rows = [group('outer', 3), group('outer[0]/inner', 2), group('outer[1]/inner', 3), group('outer[2]/inner', 0), group('many', 4)];
    expect(taskCounts(rows, loops).pending).toBe(24);
  });
});
