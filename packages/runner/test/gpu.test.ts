import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectGpus, GpuPool, parseNvidiaSmiCsv } from '../src/engine/gpu.ts';

const DATA = '/work/shared/gpu';

describe('GPU detection', () => {
  it.skipIf(!existsSync(`${DATA}/query-gpu-noheader.csv`))('parses real nvidia-smi CSV, with and without a header', () => {
    const noheader = parseNvidiaSmiCsv(readFileSync(`${DATA}/query-gpu-noheader.csv`, 'utf8'));
    expect(noheader).toHaveLength(1);
    expect(noheader[0]).toMatchObject({ index: '0', name: 'NVIDIA H100 80GB HBM3' });
    expect(noheader[0]?.uuid).toMatch(/^GPU-/);
    expect(noheader[0]?.memoryMiB).toBeGreaterThan(80_000);
    const header = parseNvidiaSmiCsv(readFileSync(`${DATA}/query-gpu.csv`, 'utf8'));
    expect(header[0]).toMatchObject({ index: '0', name: 'NVIDIA H100 80GB HBM3', uuid: noheader[0]?.uuid });
  });

  it.skipIf(!existsSync(`${DATA}/query-gpu-noheader.csv`))('reads several GPUs in the same format', () => {
    const line = readFileSync(`${DATA}/query-gpu-noheader.csv`, 'utf8').trim();
    const four = [0, 1, 2, 3].map((i) => line.replace(/^0,/, `${i},`)).join('\n');
    expect(detectGpus({}, () => four).map((g) => g.index)).toEqual(['0', '1', '2', '3']);
  });

  it('SLUICE_GPUS overrides detection; no nvidia-smi means no GPUs', () => {
    expect(detectGpus({ SLUICE_GPUS: '2,3' }, () => { throw new Error('not called'); }).map((g) => g.index)).toEqual(['2', '3']);
    expect(detectGpus({ SLUICE_GPUS: '' }, () => 'x')).toEqual([]);
    expect(detectGpus({}, () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); })).toEqual([]);
  });

  it('hands out distinct devices and queues steps while none are free', async () => {
    const pool = new GpuPool(['0', '1']);
    const a = await pool.acquire(1);
    const b = await pool.acquire(1);
    expect(new Set([...a, ...b])).toEqual(new Set(['0', '1']));
    let got: string[] | undefined;
    const c = pool.acquire(2).then((ids) => (got = ids));
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toBeUndefined();
    pool.release(a);
    await new Promise((r) => setTimeout(r, 10));
    expect(got).toBeUndefined();
    pool.release(b);
    await c;
    expect(got).toEqual(['0', '1']);
    expect(() => pool.check(3, 'task t')).toThrow('task t needs 3 GPUs but this machine has 2 (0,1)');
  });
});
