/**
 * Validation pass (internal): the SDK's `validatePipelineIR`, the one import to switch if it moves.
 *
 * The SDK validator finds cycles with graphlib's recursive Tarjan, which overflows V8's default
 * stack on dependency chains of a few thousand tasks. Rather than skip validation, such a pipeline
 * is validated again in a child process with a larger stack (tsx loads the SDK's TypeScript).
 * TODO(sdk): an iterative cycle check in validatePipelineIR makes this fallback unnecessary.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { validatePipelineIR } from '@sluice/sdk';
import type { PipelineIR, SluiceIssue } from '@sluice/sdk';

export function validate(ir: PipelineIR): SluiceIssue[] {
  try {
    return validatePipelineIR(ir);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return validateWithBigStack(ir);
  }
}

function validateWithBigStack(ir: PipelineIR): SluiceIssue[] {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
  const child = fileURLToPath(new URL('./validate-child.ts', import.meta.url));
  // 7.5 MB stays under the usual 8 MB thread stack.
  const r = spawnSync(process.execPath, ['--stack-size=7500', '--import', tsx, child], { input: JSON.stringify(ir), maxBuffer: 1 << 28, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pipeline validation failed in a child process: ${r.stderr || r.error?.message || `exit ${r.status}`}`);
  return JSON.parse(r.stdout) as SluiceIssue[];
}
