import { execFileSync } from 'node:child_process';
import type { GpuIR } from '@sluice/sdk';
import { gpuTypeProblem } from '@sluice/sdk/semantics';
import { RunnerError } from '../errors.ts';

export interface GpuInfo {
  readonly index: string;
  readonly uuid?: string;
  readonly name?: string;
  readonly memoryMiB?: number;
}

/**
 * Parses `nvidia-smi --query-gpu=index,uuid,name,memory.total,... --format=csv[,noheader][,nounits]`.
 * With a header the columns are found by name; without one they are taken as index, uuid, name, memory.total.
 */
export function parseNvidiaSmiCsv(text: string): GpuInfo[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!lines.length) return [];
  let cols = ['index', 'uuid', 'name', 'memory.total'];
  if (/^index\b/i.test(lines[0] as string)) {
    cols = (lines.shift() as string).split(',').map((c) => c.trim().replace(/\s*\[.*\]$/, '').toLowerCase());
  }
  return lines.map((line) => {
    const cells = line.split(',').map((c) => c.trim());
    const get = (c: string) => cells[cols.indexOf(c)];
    const mem = get('memory.total');
    const gpu: { index: string; uuid?: string; name?: string; memoryMiB?: number } = { index: get('index') ?? String(cells[0]) };
    const uuid = get('uuid');
    const name = get('name');
    if (uuid) gpu.uuid = uuid;
    if (name) gpu.name = name;
    if (mem) gpu.memoryMiB = Number.parseFloat(mem);
    return gpu;
  });
}

/**
 * The GPUs this machine offers to steps: `SLUICE_GPUS=0,1` (empty for none) overrides detection;
 * otherwise `nvidia-smi` is asked; no nvidia-smi means no GPUs.
 */
export function detectGpus(env: NodeJS.ProcessEnv = process.env, run: (cmd: string, args: string[]) => string = (c, a) => execFileSync(c, a, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] })): GpuInfo[] {
  const override = env.SLUICE_GPUS;
  if (override !== undefined) return override.split(',').map((s) => s.trim()).filter(Boolean).map((index) => ({ index }));
  try {
    return parseNvidiaSmiCsv(run('nvidia-smi', ['--query-gpu=index,uuid,name,memory.total', '--format=csv,noheader,nounits']));
  } catch {
    return [];
  }
}

/** Hands out GPU devices: each step gets its own; steps wait while none are free. */
export class GpuPool {
  readonly devices: readonly string[];
  private free: string[];
  private waiters: { n: number; resolve: (ids: string[]) => void }[] = [];
  /** Model names of the devices (as nvidia-smi prints them), when detected; unknown with `SLUICE_GPUS`. */
  readonly names: readonly (string | undefined)[] | undefined;
  constructor(devices: readonly string[], names?: readonly (string | undefined)[]) {
    this.devices = devices;
    this.free = [...devices];
    this.names = names && names.some((n) => n !== undefined) ? names : undefined;
  }
  /**
   * Throws when `n` is more than the machine has (it could never run), or when `type` is given,
   * the models are known, and fewer than `n` GPUs are of that type (SDK `gpuTypeProblem`: the
   * same product label Argo's nodeSelector matches). Models unknown (`SLUICE_GPUS`): not checked.
   */
  check(n: number, what: string, type?: string): void {
    const p = this.problem(n, what, type);
    if (p) throw new RunnerError(p.code, p.message);
  }
  /** Why this machine can never give `n` GPUs (of `type`) to a step, or undefined when it can. */
  problem(n: number, what: string, type?: string): { code: 'gpu.tooMany' | 'gpu.type'; message: string } | undefined {
    if (n > this.devices.length)
      return { code: 'gpu.tooMany', message: `${what} needs ${n} GPU${n === 1 ? '' : 's'} but this machine has ${this.devices.length}${this.devices.length ? ` (${this.devices.join(',')})` : ''}; set SLUICE_GPUS to override detection${this.devices.length ? '' : `. This machine has no GPU that nvidia-smi reports: run the pipeline on one that has, or let the step run on CPU in local runs with resources({ gpu: { count: ${n}, localFallback: 'cpu' } }) (on Argo its pod still requests the GPU)`}` };
    if (n > 0 && type !== undefined && this.names) {
      const problem = gpuTypeProblem(type, n, this.names, what);
      if (problem) return { code: 'gpu.type', message: problem };
    }
    return undefined;
  }
  acquire(n: number): Promise<string[]> {
    if (n <= 0) return Promise.resolve([]);
    this.check(n, 'a step');
    if (!this.waiters.length && this.free.length >= n) return Promise.resolve(this.free.splice(0, n));
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }
  /** `n` free devices not in `avoid`, taken now, or undefined (nothing is taken). */
  tryAcquire(n: number, avoid: ReadonlySet<string>): string[] | undefined {
    if (n <= 0) return [];
    this.check(n, 'a step');
    if (this.waiters.length) return undefined;
    const ids = this.free.filter((d) => !avoid.has(d)).slice(0, n);
    if (ids.length < n) return undefined;
    this.free = this.free.filter((d) => !ids.includes(d));
    return ids;
  }
  release(ids: readonly string[]): void {
    if (!ids.length) return;
    this.free.push(...ids);
    this.free.sort((a, b) => this.devices.indexOf(a) - this.devices.indexOf(b));
    while (this.waiters.length && this.free.length >= (this.waiters[0] as { n: number }).n) {
      const w = this.waiters.shift() as { n: number; resolve: (ids: string[]) => void };
      w.resolve(this.free.splice(0, w.n));
    }
  }
}

/**
 * How many GPUs a task gets on this machine. A request this machine can never serve fails (see
 * {@link GpuPool.check}) unless the task declares `localFallback: 'cpu'`: then it runs without GPUs
 * and `fallback` says so, for the run's warnings. Argo ignores the fallback (the pod requests the GPUs).
 */
export function localGpus(pool: GpuPool, gpu: GpuIR | undefined, what: string): { count: number; fallback?: string } {
  if (!gpu || gpu.count <= 0) return { count: 0 };
  const p = pool.problem(gpu.count, what, gpu.type);
  if (!p) return { count: gpu.count };
  if (gpu.localFallback !== 'cpu') throw new RunnerError(p.code, p.message);
  const asked = `${gpu.count} GPU${gpu.count === 1 ? '' : 's'}${gpu.type ? ` of type ${gpu.type}` : ''}`;
  const has = p.code === 'gpu.type' ? 'this machine has none of that type' : `this machine has ${pool.devices.length ? `only ${pool.devices.length}` : 'none that nvidia-smi reports'}`;
  return { count: 0, fallback: `${what} runs on CPU: it asks for ${asked} and ${has}; its declared fallback is localFallback: 'cpu' (on Argo its pod still requests nvidia.com/gpu: ${gpu.count})` };
}

/** A counting semaphore (the global concurrency limit, a loop's parallelism). */
export class Semaphore {
  private n: number;
  private readonly q: (() => void)[] = [];
  constructor(n: number) {
    this.n = Math.max(1, n);
  }
  acquire(): Promise<void> {
    if (this.n > 0) {
      this.n--;
      return Promise.resolve();
    }
    return new Promise((r) => this.q.push(r));
  }
  release(): void {
    const next = this.q.shift();
    if (next) next();
    else this.n++;
  }
}
