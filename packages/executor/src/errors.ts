/** An error of the executor with a stable code (`entry.missing`, `artifact.name`, ...). */
export class ExecutorError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ExecutorError';
    this.code = code;
  }
}
