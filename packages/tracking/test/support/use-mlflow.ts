/**
 * One MLflow server for the suites of a test file: started before them (a fresh process and
 * backend), stopped after them with its port checked free, the file's throwaway directories
 * removed. Without the pinned MLflow the suites skip with the reason; in CI (CI=true) a missing
 * MLflow fails the file at load. Kept apart from mlflow-server.ts, which the benches import
 * outside vitest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { MlflowClient } from '../../src/index.ts';
import { mlflowMissing, portFree, startMlflow, type MlflowServer } from './mlflow-server.ts';

export interface MlflowFixture {
  /** `describe`, or `describe.skip` when MLflow is not installed here. */
  readonly suite: typeof describe | typeof describe.skip;
  /** The running server (inside tests and hooks). */
  readonly server: MlflowServer;
  /** A client of it (2 attempts per call, `timeoutMs` each). */
  readonly client: MlflowClient;
  /** A new directory under the system's temporary directory, removed after the file's tests. */
  tmp(): string;
}

/**
 * Call at the top of a test file.
 *
 * @example
 * const ml = useMlflow('MLflow suites', { prefix: 'sluice-mlf-', timeoutMs: 5000 });
 * ml.suite('MLflow tracking', () => { it('...', async () => { await ml.client.getExperimentByName('x'); }); });
 */
export function useMlflow(what: string, o: { readonly prefix: string; readonly timeoutMs: number }): MlflowFixture {
  const missing = mlflowMissing();
  if (missing && process.env.CI) throw new Error(`[tracking] MLflow is required in CI: ${missing}`);
  if (missing) console.warn(`[tracking] skipping ${what}: ${missing}`);
  let server: MlflowServer | undefined;
  let client: MlflowClient | undefined;
  const dirs: string[] = [];
  beforeAll(async () => {
    if (missing) return;
    server = await startMlflow();
    client = new MlflowClient({ uri: server.uri, attempts: 2, timeoutMs: o.timeoutMs });
  }, 180_000);
  afterAll(async () => {
    if (server) {
      await server.stop();
      expect(portFree(server.port)).toBe(true);
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const started = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the MLflow server is not started (use it inside tests)');
    return v;
  };
  return {
    suite: missing ? describe.skip : describe,
    get server() { return started(server); },
    get client() { return started(client); },
    tmp() {
      const d = mkdtempSync(join(tmpdir(), o.prefix));
      dirs.push(d);
      return d;
    },
  };
}
