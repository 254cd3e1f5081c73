import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComponentIR, FunctionComponentIR, IOSpec, NodeIR, PipelineIR, TaskIR, TaskOptionsIR, ValueIR } from '@sluice/sdk';
import type { FunctionRuntime, LoadedPipeline } from '@sluice/executor';
import { sha256 } from '@sluice/sdk';

type IO = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'any' | `artifact:${string}` | `artifacts:${string}`;

function spec(t: IO, optional = false): IOSpec {
  if (t.startsWith('artifact')) return { kind: 'artifact', artifactType: t.split(':')[1] as string, list: t.startsWith('artifacts:'), optional };
  return { kind: 'parameter', type: t as 'string', schema: {}, optional };
}

export interface Fn {
  readonly hash: string;
  readonly ir: FunctionComponentIR;
  readonly runtime: FunctionRuntime;
}

/** A function component built by hand (no SDK): inputs/outputs by coarse type, `run` as given. */
export function fn(name: string, io: { inputs?: Record<string, IO>; outputs?: Record<string, IO>; defaults?: TaskOptionsIR; code?: string; optional?: string[] }, run: FunctionRuntime['run']): Fn {
  const inputs = Object.fromEntries(Object.entries(io.inputs ?? {}).map(([k, t]) => [k, spec(t, io.optional?.includes(k))]));
  const outputs = Object.fromEntries(Object.entries(io.outputs ?? {}).map(([k, t]) => [k, spec(t)]));
  const ir: FunctionComponentIR = { kind: 'function', name, inputs, outputs, defaults: io.defaults ?? {}, codeHash: sha256(io.code ?? name) };
  const hash = sha256(JSON.stringify(ir)).slice(0, 16);
  const runtime: FunctionRuntime = {
    ir, hash,
    parseInputs: (values, path) => {
      for (const [k, s] of Object.entries(inputs)) {
        if (s.kind === 'parameter' && s.type === 'number' && k in values && typeof values[k] !== 'number')
          return { ok: false, issues: [{ code: 'input.type', path: `${path}/inputs.${k}`, message: `expected number, got ${JSON.stringify(values[k])}` }] };
      }
      return { ok: true, values };
    },
    parseOutputs: (values) => ({ ok: true, values }),
    run,
  };
  return { hash, ir, runtime };
}

export const lit = (value: unknown): ValueIR => ({ kind: 'literal', value: value as never });
export const param = (name: string): ValueIR => ({ kind: 'param', name });
export const out = (task: string, output: string): ValueIR => ({ kind: 'output', task, output });
export const item = (loop: string, ...path: string[]): ValueIR => ({ kind: 'item', loop, path });
export const collect = (loop: string, task: string, output: string): ValueIR => ({ kind: 'collect', loop, task, output });

export function task(id: string, f: Fn | { hash: string }, inputs: Record<string, ValueIR> = {}, after: string[] = [], options: TaskOptionsIR = {}): TaskIR {
  return { kind: 'task', id, component: f.hash, inputs, after, options };
}

export function pipeline(name: string, fns: (Fn | { hash: string; ir: ComponentIR })[], dag: NodeIR[], extra: Partial<Pick<PipelineIR, 'params' | 'outputs' | 'outputValues' | 'exitHandler' | 'options'>> = {}): LoadedPipeline {
  const components: Record<string, ComponentIR> = {};
  const runtimes = new Map<string, FunctionRuntime>();
  for (const f of fns) {
    components[f.hash] = f.ir;
    if ('runtime' in f) runtimes.set(f.hash, f.runtime);
  }
  const ir: PipelineIR = {
    kind: 'pipeline', irVersion: 1, name, params: extra.params ?? {}, outputs: extra.outputs ?? declaredOutputs(extra.outputValues ?? {}, dag, components), outputValues: extra.outputValues ?? {},
    components, dag, exitHandler: extra.exitHandler ?? null, options: extra.options ?? {},
  };
  return { ir, runtimes };
}

/** The outputs a pipeline declares for its output values (what the SDK's builder would declare): each producer's output spec. */
function declaredOutputs(values: Record<string, ValueIR>, dag: NodeIR[], components: Record<string, ComponentIR>): Record<string, IOSpec> {
  const compOf = new Map<string, ComponentIR>();
  const walk = (nodes: readonly NodeIR[]): void => {
    for (const n of nodes) {
      if (n.kind === 'task') { const c = components[n.component]; if (c) compOf.set(n.id, c); }
      else if (n.kind === 'condition') { walk(n.then); walk(n.else); }
      else walk(n.body);
    }
  };
  walk(dag);
  const out: Record<string, IOSpec> = {};
  for (const [name, v] of Object.entries(values)) {
    const ref = v.kind === 'output' ? v : v.kind === 'oneOf' ? v.options[0] : v.kind === 'collect' ? v : undefined;
    const s = ref ? compOf.get(ref.task)?.outputs[ref.output] : undefined;
    const base: IOSpec = s ?? { kind: 'parameter', type: 'any', schema: {}, optional: false };
    out[name] = v.kind === 'collect' ? (base.kind === 'artifact' ? { ...base, list: true } : { kind: 'parameter', type: 'array', schema: {}, optional: false }) : base;
  }
  return out;
}

export function paramSpec(type: IO, dflt?: unknown): IOSpec {
  return { kind: 'parameter', type: type as 'string', schema: {}, optional: dflt !== undefined, ...(dflt !== undefined ? { default: dflt as never } : {}) };
}

export function tmp(prefix = 'sluice-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** True while a process with this pid exists (signal 0 probes without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
