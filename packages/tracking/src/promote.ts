/**
 * `promote(...)`: the promotion gate as a step of the pipeline. It registers the model as a new
 * version (with its source run, task, artifact hash, git commit and data hashes), compares it with
 * the alias's current holder through the gate, and moves the alias only when the gate passes. The
 * gate is an input of the task, so it is in the IR (and the compiled manifest) for all to read;
 * the step is never cached, since its effect is on the registry.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { component, Dataset, Metrics, Model, type ArtifactRef, type JsonValue, type ParamRef } from '@sluice/sdk';
import { checkGateSpec, type GateSpec } from './gate.ts';
import { checkModelName } from './names.ts';

const direction = z.enum(['max', 'min']);
/** The zod schema of a {@link GateSpec} (the task input it travels in). */
export const gateSchema = z.object({
  metric: z.string().min(1),
  direction: direction.optional(),
  minDelta: z.number().nonnegative().optional(),
  min: z.number().optional(),
  guards: z.array(z.object({ metric: z.string().min(1), direction: direction.optional(), maxRegression: z.number().nonnegative().optional() })).optional(),
  sameEvalData: z.boolean().optional(),
  noTrainEvalOverlap: z.boolean().optional(),
});

async function fileHash(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** The numbers of a Metrics artifact (`{ name: value }`; nested objects such as a confusion matrix are skipped). */
export function numericMetrics(x: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (x && typeof x === 'object' && !Array.isArray(x)) for (const [k, v] of Object.entries(x)) if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  return out;
}

export const promoteComponent = component({
  name: 'promote',
  description: 'Registers a model version and moves an alias to it when the promotion gate passes.',
  inputs: { model: Model, metrics: Metrics, trainData: Dataset, evalData: Dataset, name: z.string(), alias: z.string(), gate: gateSchema, min: z.number().optional() },
  outputs: { promoted: z.boolean(), version: z.number().int(), reason: z.string() },
  defaults: { cache: false },
  async run({ model, metrics, trainData, evalData, name, alias, gate: g, min }, ctx) {
    const gate = min === undefined ? g : { ...g, min };
    const hashOf = async (a: { contentHash: string | undefined; path: string }) => a.contentHash ?? (await fileHash(a.path));
    const v = await ctx.models.register(model, { name, metrics: numericMetrics(await metrics.readJson()), trainData: [await hashOf(trainData)], evalData: [await hashOf(evalData)] });
    const r = await ctx.models.promote(name, v.version, { alias, gate: JSON.parse(JSON.stringify(gate)) as { [k: string]: JsonValue } });
    const reason = r.reasons.join('; ');
    ctx.log.info(r.promoted ? `promoted ${name} version ${v.version} to "${alias}"` : `kept ${name} "${alias}" at ${r.holder === null ? 'no version' : `version ${r.holder}`}: ${reason}`);
    return { promoted: r.promoted, version: v.version, reason };
  },
});

export interface PromoteArgs {
  /** The challenger. */
  readonly model: ArtifactRef<'Model'>;
  /** Its metrics on `evalData` (a Metrics artifact of `{ name: number }`). */
  readonly metrics: ArtifactRef<'Metrics'>;
  /** The data the model was trained on (checked not to overlap `evalData`). */
  readonly trainData: ArtifactRef<'Dataset'>;
  /** The held-out data the metrics were computed on. */
  readonly evalData: ArtifactRef<'Dataset'>;
  /** Registered model name. */
  readonly name: string;
  /** @default 'champion' */
  readonly alias?: string;
  readonly gate: GateSpec;
  /** The absolute bar (`gate.min`) from a pipeline parameter or an upstream output. */
  readonly min?: number | ParamRef<number>;
}

/**
 * Adds a promotion step to the pipeline being built.
 *
 * @example
 * const gate = promote({ model: best.outputs.model, metrics: best.outputs.metrics, trainData: split.outputs.train,
 *   evalData: split.outputs.test, name: 'iris', gate: { metric: 'accuracy', min: 0.9, minDelta: 0 } });
 * // gate.outputs.promoted, gate.outputs.version, gate.outputs.reason
 */
export function promote(args: PromoteArgs) {
  checkModelName(args.name);
  checkModelName(args.alias ?? 'champion', 'alias');
  const problems = checkGateSpec(args.gate);
  if (problems.length) throw new TypeError(`promote(${args.name}): ${problems.join('; ')}`);
  return promoteComponent({ model: args.model, metrics: args.metrics, trainData: args.trainData, evalData: args.evalData, name: args.name, alias: args.alias ?? 'champion', gate: JSON.parse(JSON.stringify(args.gate)) as z.infer<typeof gateSchema>, ...(args.min !== undefined ? { min: args.min } : {}) });
}
