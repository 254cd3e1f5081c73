/** Defining components: TypeScript functions and containers. */
import { z } from 'zod';
import { isArtifactType } from './artifacts.ts';
import { callComponent, type ComponentDef, type Task } from './builder.ts';
import { contentHash, deepFreeze, sha256 } from './hash.ts';
import type { ArgIR, ContainerComponentIR, FunctionComponentIR, IOSpec } from './ir.ts';
import { parseTaskOptions, type TaskOptions } from './options.ts';
import { ioSpecOf, type IOShape } from './schema.ts';
import type { StepContext } from './runtime.ts';
import type { OutputHandles, RunInputs, RunResult, TaskArgs, TaskOutputs } from './types.ts';

/** @internal */
export const COMPONENT = Symbol.for('sluice.component');

/**
 * A component: call it inside a pipeline with its inputs to add a task.
 * `I` and `O` are its declared inputs and outputs.
 */
export interface Component<I extends IOShape, O extends IOShape> {
  (args: TaskArgs<I>): Task<TaskOutputs<O>>;
  readonly componentName: string;
  /** Content hash of the component's IR (its key in `PipelineIR.components`). */
  readonly hash: string;
  /** @internal */
  readonly [COMPONENT]: ComponentDef;
}

const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

function checkName(what: string, name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TypeError(`${what}: name "${String(name)}" must be lowercase letters, digits and '-', 1 to 63 characters, starting and ending with a letter or digit`);
  }
}

function specs(shape: IOShape, where: string): Record<string, IOSpec> {
  const out: Record<string, IOSpec> = {};
  for (const k of Object.keys(shape).sort()) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new TypeError(`${where}: "${k}" is not a valid name (letters, digits and _, not starting with a digit)`);
    const t = shape[k];
    if (!isArtifactType(t) && !(t instanceof z.ZodType)) throw new TypeError(`${where}.${k}: expected a zod schema or an artifact type`);
    out[k] = ioSpecOf(t!);
  }
  return out;
}

/** The IR fields function and container components share: name, description, input and output specs, defaults. */
function leafFields(what: string, config: { name: string; description?: string; defaults?: TaskOptions }, inputs: IOShape, outputs: IOShape) {
  return {
    name: config.name,
    ...(config.description ? { description: config.description } : {}),
    inputs: specs(inputs, `${what} "${config.name}" inputs`),
    outputs: specs(outputs, `${what} "${config.name}" outputs`),
    defaults: parseTaskOptions(config.defaults ?? {}),
  };
}

function makeComponent<I extends IOShape, O extends IOShape>(def: ComponentDef): Component<I, O> {
  const fn = ((args: unknown) => callComponent(def, args)) as unknown as Component<I, O>;
  Object.defineProperties(fn, {
    componentName: { value: def.ir.name, enumerable: true },
    hash: { value: def.hash, enumerable: true },
    [COMPONENT]: { value: def },
  });
  return Object.freeze(fn);
}

/** A function component's definition. */
export interface FunctionComponentConfig<I extends IOShape, O extends IOShape> {
  /** Lowercase DNS-1123 name, unique among the components of a pipeline. */
  name: string;
  description?: string;
  inputs?: I;
  outputs?: O;
  /** Options every task of this component starts from. */
  defaults?: TaskOptions;
  /**
   * The step itself. Receives parsed parameters and materialised input artifacts; writes artifact
   * outputs through `ctx.outputs`; returns parameter outputs.
   */
  run(inputs: RunInputs<I>, ctx: StepContext<OutputHandles<O>>): Promise<RunResult<O>> | RunResult<O>;
}

/**
 * Defines a TypeScript function component. It runs through the Sluice executor, in a child
 * process locally and in a pod on Argo.
 *
 * @example
 * export const prepare = component({
 *   name: 'prepare',
 *   inputs: { source: z.string(), testFraction: z.number().min(0).max(0.5).default(0.2) },
 *   outputs: { train: Dataset, test: Dataset, rows: z.number().int() },
 *   async run({ source, testFraction }, ctx) {
 *     await ctx.outputs.train.write('...');
 *     return { rows: 150 };
 *   },
 * });
 */
export function component<const I extends IOShape = {}, const O extends IOShape = {}>(
  config: FunctionComponentConfig<I, O>,
): Component<I, O> {
  checkName('component', config.name);
  if (typeof config.run !== 'function') throw new TypeError(`component "${config.name}": run must be a function`);
  const inputs = (config.inputs ?? {}) as I;
  const outputs = (config.outputs ?? {}) as O;
  const ir: FunctionComponentIR = deepFreeze({
    kind: 'function',
    ...leafFields('component', config, inputs, outputs),
    codeHash: sha256(config.run.toString()),
  });
  return makeComponent<I, O>({ hash: contentHash(ir), ir, inputs, outputs, run: config.run as NonNullable<ComponentDef["run"]> });
}

// ---------------------------------------------------------------------------------------------
// Container components.

const TOKEN = '\u0000sluice:';
const TOKEN_RE = /\u0000sluice:(\d+)\u0000/g;

/** A run-time placeholder in a container command. Usable alone or inside a template string. */
export interface Placeholder {
  readonly [COMPONENT]: 'placeholder';
  toString(): string;
}

/** What `command` receives: placeholders for every input and output. */
export interface CommandIO<I extends IOShape, O extends IOShape> {
  /** Parameter inputs are placeholders for their value; artifact inputs have `.path`. */
  readonly inputs: { readonly [K in keyof I]: I[K] extends z.ZodType ? Placeholder : { readonly path: Placeholder } };
  /** Every output has `.path`: write the artifact there, or a parameter's value as text. */
  readonly outputs: { readonly [K in keyof O]: { readonly path: Placeholder } };
}

export interface ContainerComponentConfig<I extends IOShape, O extends IOShape> {
  name: string;
  description?: string;
  image: string;
  inputs?: I;
  outputs?: O;
  defaults?: TaskOptions;
  /** The command as an array; placeholders stand for run-time values and paths. */
  command(io: CommandIO<I, O>): readonly (string | number | Placeholder)[];
}

/**
 * Defines a container component: an image and a command (an array, never a shell string).
 * Parameter outputs are read from the file at their `path` after the command exits.
 *
 * @example
 * export const trainPy = containerComponent({
 *   name: 'train-sklearn',
 *   image: 'python:3.12-slim',
 *   inputs: { data: Dataset, lr: z.number() },
 *   outputs: { model: Model },
 *   command: ({ inputs, outputs }) => ['python', 'train.py', '--data', inputs.data.path, '--lr', inputs.lr, '--out', outputs.model.path],
 * });
 */
export function containerComponent<const I extends IOShape = {}, const O extends IOShape = {}>(
  config: ContainerComponentConfig<I, O>,
): Component<I, O> {
  checkName('containerComponent', config.name);
  if (typeof config.image !== 'string' || config.image.length === 0) throw new TypeError(`containerComponent "${config.name}": image must be a non-empty string`);
  const inputs = (config.inputs ?? {}) as I;
  const outputs = (config.outputs ?? {}) as O;
  const table: ArgIR[] = [];
  const placeholder = (arg: ArgIR): Placeholder => {
    const n = table.push(arg) - 1;
    const token = `${TOKEN}${n}\u0000`;
    return Object.freeze({ [COMPONENT]: 'placeholder' as const, toString: () => token });
  };
  const inIO: Record<string, unknown> = {};
  for (const [k, t] of Object.entries(inputs)) {
    inIO[k] = isArtifactType(t) ? { path: placeholder({ kind: 'inputPath', input: k }) } : placeholder({ kind: 'inputValue', input: k });
  }
  const outIO: Record<string, unknown> = {};
  for (const k of Object.keys(outputs)) outIO[k] = { path: placeholder({ kind: 'outputPath', output: k }) };
  const raw = config.command({ inputs: inIO, outputs: outIO } as unknown as CommandIO<I, O>);
  if (!Array.isArray(raw) || raw.length === 0) throw new TypeError(`containerComponent "${config.name}": command must return a non-empty array`);
  const command = raw.map((a): ArgIR => {
    if (typeof a === 'number') return { kind: 'literal', value: String(a) };
    const s = String(a);
    const parts: ArgIR[] = [];
    let last = 0;
    for (const m of s.matchAll(TOKEN_RE)) {
      if (m.index > last) parts.push({ kind: 'literal', value: s.slice(last, m.index) });
      parts.push(table[Number(m[1])]!);
      last = m.index + m[0].length;
    }
    if (last < s.length) parts.push({ kind: 'literal', value: s.slice(last) });
    if (parts.length === 0) return { kind: 'literal', value: '' };
    return parts.length === 1 ? parts[0]! : { kind: 'concat', parts };
  });
  const ir: ContainerComponentIR = deepFreeze({
    kind: 'container',
    ...leafFields('containerComponent', config, inputs, outputs),
    image: config.image,
    command,
  });
  return makeComponent<I, O>({ hash: contentHash(ir), ir, inputs, outputs });
}

export function isComponent(x: unknown): x is Component<IOShape, IOShape> {
  return typeof x === 'function' && COMPONENT in x;
}
