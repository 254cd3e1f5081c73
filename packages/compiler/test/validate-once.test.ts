/**
 * The SDK validator runs once per pipeline: `toIR` validates and marks its frozen IR, and
 * `compile` does not validate that IR again. A hand-built or parsed IR is still validated.
 * The spy wraps the SDK export the compiler imports (the SDK's own `toIR` calls it directly).
 */
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

const calls = vi.hoisted(() => ({ n: 0 }));
vi.mock('@sluice/sdk', async (importOriginal) => {
  const sdk = await importOriginal<typeof import('@sluice/sdk')>();
  return { ...sdk, validatePipelineIR: (ir: Parameters<typeof sdk.validatePipelineIR>[0]) => { calls.n++; return sdk.validatePipelineIR(ir); } };
});

const { component, pipeline, toIR, isValidatedIR, SluiceValidationError } = await import('@sluice/sdk');
const { compile } = await import('../src/index.ts');
const { withDescriptions } = await import('../src/source.ts');

const add = component({ name: 'add', inputs: { x: z.number() }, outputs: { y: z.number() }, async run({ x }) { return { y: x + 1 }; } });
const demo = pipeline({ name: 'once', image: 'ghcr.io/acme/p:1' }, () => {
  const a = add({ x: 1 });
  add({ x: a.outputs.y });
});
const opts = { entry: 'pipelines/once.ts' };

describe('validation runs once', () => {
  it('compile does not validate an IR that toIR validated', () => {
    const ir = toIR(demo);
    expect(isValidatedIR(ir)).toBe(true);
    calls.n = 0;
    compile(ir, opts);
    expect(calls.n).toBe(0);
  });
  it('nor one that withDescriptions derived from it', () => {
    const ir = withDescriptions(toIR(demo), { add: 'adds one', once: 'demo' });
    expect(ir.description).toBe('demo');
    calls.n = 0;
    compile(ir, opts);
    expect(calls.n).toBe(0);
  });
  it('validates a parsed IR, and reports its problems', () => {
    const parsed = JSON.parse(JSON.stringify(toIR(demo)));
    expect(isValidatedIR(parsed)).toBe(false);
    calls.n = 0;
    compile(parsed, opts);
    expect(calls.n).toBe(1);
    const broken = { ...parsed, dag: [...parsed.dag, { ...parsed.dag[0], after: ['nowhere'] }] };
    expect(() => compile(broken, opts)).toThrow(SluiceValidationError);
  });
});
