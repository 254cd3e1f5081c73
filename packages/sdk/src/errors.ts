/**
 * Errors are data: a stable code, a path naming the place, a message saying what was expected
 * and what was found, and where it helps, the fix.
 */
export interface SluiceIssue {
  /** Stable machine-readable code, e.g. `input.unknown`, `graph.cycle`. */
  readonly code: string;
  /** Where: `pipeline/task/inputs.name`, `pipeline/params.lr`, `pipeline/task/options.resources.cpu`. */
  readonly path: string;
  readonly message: string;
  readonly hint?: string;
}

/** Formats issues one per line: `path: message (hint)`. */
export function formatIssues(issues: readonly SluiceIssue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}${i.hint ? ` (${i.hint})` : ''}`).join('\n');
}

/**
 * Thrown when a pipeline, its parameters or a task's inputs are invalid. Carries every problem
 * found, not just the first.
 *
 * @example
 * try { build(myPipeline) } catch (e) { if (e instanceof SluiceValidationError) console.error(e.issues) }
 */
export class SluiceValidationError extends Error {
  readonly issues: readonly SluiceIssue[];
  constructor(issues: readonly SluiceIssue[], what = 'pipeline') {
    const n = issues.length;
    super(`${what} is invalid (${n} problem${n === 1 ? '' : 's'}):\n${formatIssues(issues)}`);
    this.name = 'SluiceValidationError';
    this.issues = Object.freeze([...issues]);
  }
}

/**
 * Throw from a component to fail the step at once, skipping every remaining retry.
 *
 * @example
 * if (rows.length === 0) throw new NonRetryableError('input data set is empty');
 */
export class NonRetryableError extends Error {
  readonly nonRetryable = true as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/** True for a `NonRetryableError`, also across module copies (checks the marker, not the class). */
export function isNonRetryable(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { nonRetryable?: unknown }).nonRetryable === true;
}
