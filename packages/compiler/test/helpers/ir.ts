/** Small builders for hand-written IR fixtures (tests only). */
import type {
  ArgIR, ComponentIR, ConditionIR, IOSpec, JsonValue, LoopIR, NodeIR, ParamType, PipelineIR, PipelineOptionsIR, PredicateIR, TaskIR,
  TaskOptionsIR, ValueIR,
} from '@sluice/sdk';

export const p = (type: ParamType, extra: Partial<{ optional: boolean; default: JsonValue; description: string }> = {}): IOSpec => ({
  kind: 'parameter', type, schema: type === 'any' ? {} : { type }, optional: extra.optional ?? extra.default !== undefined, ...(extra.default !== undefined ? { default: extra.default } : {}), ...(extra.description ? { description: extra.description } : {}),
});
export const a = (artifactType = 'Dataset', list = false): IOSpec => ({ kind: 'artifact', artifactType, list, optional: false });

export const fn = (name: string, inputs: Record<string, IOSpec> = {}, outputs: Record<string, IOSpec> = {}, defaults: TaskOptionsIR = {}): ComponentIR => ({
  kind: 'function', name, inputs, outputs, defaults, codeHash: `code-of-${name}`,
});
export const ctr = (name: string, image: string, command: ArgIR[], inputs: Record<string, IOSpec> = {}, outputs: Record<string, IOSpec> = {}, defaults: TaskOptionsIR = {}): ComponentIR => ({
  kind: 'container', name, image, command, inputs, outputs, defaults,
});

export const lit = (value: JsonValue): ValueIR => ({ kind: 'literal', value });
export const param = (name: string): ValueIR => ({ kind: 'param', name });
export const out = (task: string, output: string): ValueIR => ({ kind: 'output', task, output });
export const item = (loop: string, ...path: string[]): ValueIR => ({ kind: 'item', loop, path });
export const collect = (loop: string, task: string, output: string): ValueIR => ({ kind: 'collect', loop, task, output });

export const task = (id: string, component: string, inputs: Record<string, ValueIR> = {}, extra: { after?: string[]; options?: TaskOptionsIR } = {}): TaskIR => ({
  kind: 'task', id, component, inputs: Object.fromEntries(Object.entries(inputs).sort(([x], [y]) => (x < y ? -1 : 1))), after: extra.after ?? [], options: extra.options ?? {},
});
export const cond = (id: string, predicate: PredicateIR, then: NodeIR[], otherwise: NodeIR[] = [], after: string[] = []): ConditionIR => ({ kind: 'condition', id, predicate, then, else: otherwise, after });
export const loop = (id: string, items: ValueIR, body: NodeIR[], parallelism?: number, after: string[] = []): LoopIR => ({ kind: 'loop', id, items, body, after, ...(parallelism !== undefined ? { parallelism } : {}) });
export const cmp = (op: '==' | '!=' | '<' | '<=' | '>' | '>=', left: ValueIR, right: ValueIR): PredicateIR => ({ kind: 'compare', op, left, right });

export function pipe(name: string, components: Record<string, ComponentIR>, dag: NodeIR[], extra: Partial<Pick<PipelineIR, 'params' | 'outputs' | 'outputValues' | 'exitHandler'>> & { options?: PipelineOptionsIR } = {}): PipelineIR {
  return {
    kind: 'pipeline', irVersion: 1, name,
    params: extra.params ?? {}, outputs: extra.outputs ?? {}, outputValues: extra.outputValues ?? {},
    components, dag, exitHandler: extra.exitHandler ?? null, options: extra.options ?? { image: 'ghcr.io/acme/pipelines:1.0' },
  };
}
