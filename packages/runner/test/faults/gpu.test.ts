// GPU requests on machines with fewer GPUs than asked: a declared CPU fallback runs the step on CPU
// with a warning kept in the run; without one the run is refused before anything runs; on Argo the
// pod requests the GPUs all the same. GPU-present cases use real nvidia-smi output (../shared/gpu).
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '@sluice/compiler';
import { toIR } from '@sluice/sdk';
import { tmp } from '../helpers.ts';
import { OUR_STACK, sluice } from './sluice.ts';
import { fallback, strict } from './gpu-fallback.ts';

const FILE = join(import.meta.dirname, 'gpu-fallback.ts');
const SHARED_GPU = join(import.meta.dirname, '..', '..', '..', '..', '..', 'shared', 'gpu');

/** A directory with an `nvidia-smi` that prints the captured H100 output (one GPU), for PATH. */
function fakeNvidiaSmi(dir: string): string | undefined {
  const csv = join(SHARED_GPU, 'query-gpu-noheader.csv');
  if (!existsSync(csv)) return undefined;
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'nvidia-smi'), `#!/bin/sh\ncat ${JSON.stringify(csv)}\n`);
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return bin;
}

const noGpu = { SLUICE_GPUS: '' };
const devices = (out: string) => /devices +(gpus=\[[^\]]*\] cuda=\S*)/.exec(out)?.[1];

describe('localFallback: cpu', () => {
  it('on a machine without a GPU the step runs on CPU, and the run keeps a warning that sluice show lists', async () => {
    const dir = tmp('sluice-gpufb-');
    const r = await sluice(dir, ['run', FILE, '--export', 'fallback', '--run-id', 'fb1', '--no-cache'], noGpu);
    expect(r.code, r.err + r.out).toBe(0);
    expect(devices(r.out)).toBe('gpus=[] cuda=');
    const warning = "task train runs on CPU: it asks for 1 GPU and this machine has none that nvidia-smi reports; its declared fallback is localFallback: 'cpu' (on Argo its pod still requests nvidia.com/gpu: 1)";
    expect(r.out).toContain(warning);
    const show = await sluice(dir, ['show', 'fb1']);
    expect(show.code, show.err).toBe(0);
    expect(show.out).toContain(`warnings:\n  train: ${warning}\n`);
    const json = JSON.parse((await sluice(dir, ['show', 'fb1', '--json'])).out) as { warnings: { task: string; message: string }[] };
    expect(json.warnings).toEqual([expect.objectContaining({ task: 'train', message: warning })]);
  }, 120_000);

  it('without the fallback the run is refused before any step runs, with the task named, exit 2', async () => {
    const dir = tmp('sluice-gpufb-');
    const r = await sluice(dir, ['run', FILE, '--export', 'strict', '--run-id', 's1'], noGpu);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^sluice: task train needs 1 GPU but this machine has 0; set SLUICE_GPUS to override detection\. .*localFallback: 'cpu'/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).not.toMatch(OUR_STACK);
    expect(r.out).not.toMatch(/task\.started/);
  }, 120_000);

  it('a fallback other than cpu is refused with its path, exit 2, nothing run', async () => {
    const dir = tmp('sluice-gpufb-');
    const r = await sluice(dir, ['run', join(import.meta.dirname, 'gpu-bad-fallback.ts')], noGpu);
    expect(r.code).toBe(2);
    expect(r.err).toContain("resources.gpu.localFallback: expected 'cpu' (the only local fallback), got \"tpu\"");
    expect(r.err).not.toMatch(OUR_STACK);
    expect(existsSync(join(dir, '.sluice'))).toBe(false);
  }, 120_000);

  it('on Argo the pod still requests the GPU (the fallback is local only)', () => {
    const yaml = compile(toIR(fallback), { entry: 'gpu-fallback.ts', image: 'node:20-slim' }).yaml;
    const pod = (y: string) => [...y.matchAll(/^\s*(resources: .*|tolerations:\n.*)$/gm)].map((m) => m[0].trim().replace(/\s+/g, ' '));
    expect(pod(yaml)).toContain("resources: {limits: {nvidia.com/gpu: '1'}}");
    expect(pod(yaml).some((l) => l === 'tolerations: - {key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}')).toBe(true);
    expect(yaml).not.toContain('localFallback');
    // the same request without the fallback: the same resources and tolerations
    expect(pod(compile(toIR(strict), { entry: 'gpu-fallback.ts', image: 'node:20-slim' }).yaml)).toEqual(pod(yaml));
  });
});

describe('localFallback with GPUs present (nvidia-smi output of a one-H100 machine)', () => {
  it('a GPU is used when there is one; two asked of one GPU, or a type this machine lacks, fall back with their reason', async (ctx) => {
    const dir = tmp('sluice-gpufb-');
    const bin = fakeNvidiaSmi(dir);
    if (!bin) {
      // CI has shared/ beside the clone: there the fixtures are required
      if (process.env.CI === 'true') throw new Error(`no nvidia-smi fixtures at ${SHARED_GPU} (required when CI=true)`);
      console.warn(`skipping the GPU-present fallback tests: no nvidia-smi fixtures at ${SHARED_GPU}`);
      ctx.skip();
    }
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const one = await sluice(dir, ['run', FILE, '--export', 'fallback', '--run-id', 'g1', '--no-cache'], env);
    expect(one.code, one.err + one.out).toBe(0);
    expect(devices(one.out)).toBe('gpus=[0] cuda=0');
    expect(one.out).not.toMatch(/runs on CPU/);
    const two = await sluice(dir, ['run', FILE, '--export', 'fallbackTwo', '--run-id', 'g2', '--no-cache'], env);
    expect(two.code, two.err + two.out).toBe(0);
    expect(devices(two.out)).toBe('gpus=[] cuda=');
    expect(two.out).toContain('task train runs on CPU: it asks for 2 GPUs and this machine has only 1;');
    const typed = await sluice(dir, ['run', FILE, '--export', 'fallbackType', '--run-id', 'g3', '--no-cache'], env);
    expect(typed.code, typed.err + typed.out).toBe(0);
    expect(devices(typed.out)).toBe('gpus=[] cuda=');
    expect(typed.out).toContain('task train runs on CPU: it asks for 1 GPU of type NVIDIA-A100-SXM4-80GB and this machine has none of that type;');
    expect((await sluice(dir, ['show', 'g1'])).out).not.toContain('warnings:');
  }, 180_000);
});
