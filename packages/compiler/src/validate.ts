/**
 * Validation pass (internal): the SDK's `validatePipelineIR`, the one import to switch if it moves.
 * An IR that `toIR` already validated (frozen and marked) is not validated again; a hand-built or
 * parsed IR is. It is iterative (no recursion per task), so 10,000-task chains validate in-process.
 */
import { isValidatedIR, validatePipelineIR } from '@sluice/sdk';
import type { PipelineIR, SluiceIssue } from '@sluice/sdk';

export function validate(ir: PipelineIR): SluiceIssue[] {
  return isValidatedIR(ir) ? [] : validatePipelineIR(ir);
}
