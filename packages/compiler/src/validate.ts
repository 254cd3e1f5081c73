/**
 * Validation pass (internal): the SDK's `validatePipelineIR`, the one import to switch if it moves.
 * It is iterative (no recursion per task), so 10,000-task chains validate in-process.
 */
import { validatePipelineIR } from '@sluice/sdk';
import type { PipelineIR, SluiceIssue } from '@sluice/sdk';

export function validate(ir: PipelineIR): SluiceIssue[] {
  return validatePipelineIR(ir);
}
