/**
 * The executor contract in one place: what `sluice exec` takes, writes and returns, the same in
 * an Argo pod and in a local step process (see ARCHITECTURE.md, "The executor contract"). The
 * compiler and the runner read these; a future `@sluice/sdk` semantics module may take them over
 * as they are.
 */

/** Exit codes of `sluice exec`. */
export const EXIT = { succeeded: 0, failed: 1, invalid: 2, nonretryable: 3, preempted: 143 } as const;

/** The flag giving a collected (fan-in) input's directory entries in item order. */
export const ARTIFACT_ORDER_FLAG = '--artifact-order';

/**
 * The layout of a step's `--outputs` directory: `parameters/<name>` (a string parameter as is,
 * others JSON), `artifacts/<name>` (a file or directory) with `artifacts/<name>.meta.json`
 * (metadata), and `error.json` (a failed step's result) when it did not succeed.
 */
export const OUTPUT_LAYOUT = { parameters: 'parameters', artifacts: 'artifacts', metaSuffix: '.meta.json', error: 'error.json' } as const;

/**
 * Written to stdout and stderr by a warm worker after each step, before the step's result is
 * reported: everything the step (or a child process it started) wrote before it is in its log.
 */
export const STEP_END = '\u0000sluice:step-end\u0000\n';

/** The message of every declared output a step ended without: the same locally and on Argo. */
export function outputNotWritten(name: string, detail: string): string {
  return `declared output "${name}" was not written (${detail})`;
}

export { B64_PREFIX } from './encoding.ts';
