import { AsyncLocalStorage } from 'node:async_hooks';

/** Thrown inside an in-process step at its `process.exit(code)`: the attempt ends, the runner does not. */
export class StepExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`the step called process.exit(${exitCode})`);
    this.name = 'StepExit';
    this.exitCode = exitCode;
  }
}

interface Trap { exited?: number }

const steps = new AsyncLocalStorage<Trap>();
let active = 0;
let original: typeof process.exit | undefined;

function exitCodeOf(code: unknown): number {
  const n = typeof code === 'string' ? Number(code) : typeof code === 'number' ? code : Number(process.exitCode ?? 0);
  return Number.isInteger(n) ? n : 1;
}

/**
 * Runs `f` (a step running inside the runner's process) so that a `process.exit` called from it
 * (in its async context: its awaits, timers and callbacks) does not end the runner: the call
 * throws {@link StepExit} there, and the returned promise rejects with it even if the step
 * catches that. A `process.exit` outside every trapped step is the real one.
 */
export async function trapExit<T>(f: () => Promise<T>): Promise<T> {
  if (active++ === 0) {
    original = process.exit;
    const real = original;
    process.exit = ((code?: unknown) => {
      const trap = steps.getStore();
      if (!trap) return real.call(process, code as number);
      const n = exitCodeOf(code);
      trap.exited ??= n;
      throw new StepExit(n);
    }) as typeof process.exit;
  }
  const trap: Trap = {};
  try {
    const r = await steps.run(trap, f);
    if (trap.exited !== undefined) throw new StepExit(trap.exited);
    return r;
  } catch (e) {
    throw trap.exited !== undefined ? new StepExit(trap.exited) : e;
  } finally {
    if (--active === 0 && original) {
      process.exit = original;
      original = undefined;
    }
  }
}
