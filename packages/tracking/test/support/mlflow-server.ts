/**
 * A real MLflow tracking server for the tests: the pinned venv from setup-mlflow.sh, on 127.0.0.1
 * with a free port and a throwaway SQLite backend, in its own process group so stopping it
 * leaves nothing running. Without the venv the suites skip, except in CI (CI=true), where a
 * missing server is a failure.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const MLFLOW_VERSION = '3.17.2';
export const mlflowBin = process.env.SLUICE_MLFLOW_VENV ? join(process.env.SLUICE_MLFLOW_VENV, 'bin', 'mlflow') : join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'sluice', `mlflow-${MLFLOW_VERSION}`, 'bin', 'mlflow');

/** Why the MLflow suites cannot run here, or undefined when they can. */
export function mlflowMissing(): string | undefined {
  if (!existsSync(mlflowBin)) return `MLflow ${MLFLOW_VERSION} is not installed (${mlflowBin}): run bash packages/tracking/test/support/setup-mlflow.sh`;
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface MlflowServer {
  readonly uri: string;
  readonly port: number;
  /** Where the server keeps uploaded artifacts (its `--artifacts-destination`). */
  readonly artifactsDir: string;
  /** Kills the server's process group (SIGKILL: a crash, not a shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port and backend. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

async function waitHealthy(uri: string, child: ChildProcess, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`mlflow server exited with ${child.exitCode}`);
    try {
      const r = await fetch(`${uri}/health`, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`mlflow server at ${uri} was not healthy within ${ms} ms`);
}

function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    try {
      process.kill(-(child.pid as number), signal);
    } catch {
      resolve();
    }
  });
}

export async function startMlflow(): Promise<MlflowServer> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-mlflow-'));
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(mlflowBin, ['server', '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--backend-store-uri', `sqlite:///${join(dir, 'mlflow.db')}`, '--serve-artifacts', '--artifacts-destination', join(dir, 'artifacts')], {
      detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false', PYTHONUNBUFFERED: '1' },
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    try {
      await waitHealthy(uri, child, 120_000);
    } catch (e) {
      await killGroup(child, 'SIGKILL');
      throw new Error(`${(e as Error).message}\n${err}`);
    }
  };
  await start();
  return {
    uri, port, artifactsDir: join(dir, 'artifacts'),
    kill: () => killGroup(child, 'SIGKILL'),
    restart: start,
    async stop() {
      await killGroup(child, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when nothing listens on the port any more (the server really stopped). */
export function portFree(port: number): boolean {
  return !spawnSync('ss', ['-ltn', `sport = :${port}`], { encoding: 'utf8' }).stdout.includes(`:${port}`);
}
