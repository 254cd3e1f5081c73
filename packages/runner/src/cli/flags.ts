/**
 * Parsers of command-line flags: each turns text into a checked value or throws commander's
 * InvalidArgumentError, which the CLI reports as one line with exit code 2.
 */
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { NOT_A_FILE, pathKind } from '@sluice/executor/paths';
import { RunnerError } from '../errors.ts';

/** `n` must be a whole number >= `min`. */
export function integerFlag(min: number): (v: string) => number {
  return (v: string) => {
    const t = v.trim();
    const n = /^[+-]?\d+$/.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected a whole number${min === 1 ? ' of at least 1' : min === 0 ? ' (0 or more)' : ` of at least ${min}`}.`);
    if (n < min) throw new InvalidArgumentError(`expected a whole number${min === 1 ? ' of at least 1' : min === 0 ? ' (0 or more)' : ` of at least ${min}`}.`);
    return n;
  };
}

/** A store directory: not empty, and not something that exists and is not a directory. */
export function storeFlag(v: string): string {
  if (v.trim() === '') throw new InvalidArgumentError('expected a directory, got an empty path.');
  try {
    if (!statSync(v).isDirectory()) throw new InvalidArgumentError(`${v} exists and is not a directory.`);
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw e;
    /* does not exist yet: created when a run starts */
  }
  return v;
}

/** The pipeline file must exist and be a file. */
export function checkPipelineFile(file: string): void {
  const kind = pathKind(file);
  if (kind === 'missing') throw new RunnerError('cli.file', `${file}: no such file`);
  if (kind !== 'file') throw new RunnerError('cli.file', `${file}: ${NOT_A_FILE[kind]}, not a pipeline file (give the .ts file that exports the pipeline)`);
}

/** The directory an output file goes to must exist. */
export function checkOutputFile(file: string): void {
  const dir = dirname(resolve(file));
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new RunnerError('cli.output', `-o ${file}: directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new RunnerError('cli.output', `-o ${file}: ${dir} is not a directory`);
  try {
    if (statSync(file).isDirectory()) throw new RunnerError('cli.output', `-o ${file}: is a directory; give a file name`);
  } catch (e) {
    if (e instanceof RunnerError) throw e;
  }
}
