/** An error of the local runner with a stable code (`store.corrupt`, `run.leased`, ...). */
export class RunnerError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'RunnerError';
    this.code = code;
  }
}
