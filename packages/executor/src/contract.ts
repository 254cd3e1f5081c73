/**
 * The executor contract in one place: what `sluice exec` takes, writes and returns, the same in
 * an Argo pod and in a local step process (see ARCHITECTURE.md, "The executor contract"). The
 * compiler and the runner read these; a future `@sluice/sdk` semantics module may take them over
 * as they are.
 */

import { EXEC_FLAG } from '@sluice/sdk';

/** Exit codes, flags and the outputs layout are the SDK's (`@sluice/sdk` semantics, contract.ts). */
export { EXIT, OUTPUT_LAYOUT } from '@sluice/sdk';

/** The flag giving a collected (fan-in) input's directory entries in item order. */
export const ARTIFACT_ORDER_FLAG = EXEC_FLAG.artifactOrder;


/**
 * Written to stdout and stderr by a warm worker after each step, before the step's result is
 * reported: everything the step (or a child process it started) wrote before it is in its log.
 */
export const STEP_END = '\u0000sluice:step-end\u0000\n';

/** The message of every declared output a step ended without: the same locally and on Argo. */
export function outputNotWritten(name: string, detail: string): string {
  return `declared output "${name}" was not written (${detail})`;
}

