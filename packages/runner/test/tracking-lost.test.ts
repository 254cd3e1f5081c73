/**
 * Required tracking (the pipeline's `tracking` option with `required`) whose MLflow server is lost
 * during the run: the preflight passed, the steps ran, the run is recorded, and only sending it
 * failed. That is not bad input (exit 2, what a server down at the start gives, before anything
 * runs): `sluice run` exits 4 with one message, the run stays in the store with its tracking
 * pending, and `sluice tracking flush` sends it once the server is back. Through the real binary,
 * against a real MLflow server killed while the step runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowClient, openTrackingStore } from '@sluice/tracking';
import { mlflowMissing, portFree, startMlflow, type MlflowServer } from '../../tracking/test/support/mlflow-server.ts';

const missing = mlflowMissing();
if (missing && process.env.CI) throw new Error(`[tracking] MLflow is required in CI: ${missing}`);
const suite = missing ? describe.skip : describe;
if (missing) console.warn(`[tracking] skipping the lost-server suite: ${missing}`);

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
// inside the package, so that zod and @sluice/sdk resolve as in a project
const dir = mkdtempSync(join(import.meta.dirname, '.tmp-lost-'));
const entry = join(dir, 'pipeline.ts');
writeFileSync(entry, `import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { component, pipeline } from '@sluice/sdk';

const env = process.env;

const wait = component({
  name: 'wait', inputs: {}, outputs: { n: z.number() },
  async run(_i, ctx) {
    ctx.log.metric('loss', 0.5, { step: 0 });
    writeFileSync(env.LOST_TEST_STARTED!, 'started');
    // the test stops the server, then opens the gate
    for (let i = 0; i < 1200 && !existsSync(env.LOST_TEST_GATE!); i++) await sleep(100);
    return { n: 1 };
  },
});

export default pipeline({ name: 'lost-tracking', tracking: { uri: env.LOST_TEST_URI!, required: true } }, () => ({ n: wait({}).outputs.n }));
`);
const TRACKING_VARS = ['SLUICE_TRACKING_URI', 'MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_TOKEN', 'SLUICE_TRACKING_EXPERIMENT', 'SLUICE_TRACKING_REQUIRED', 'SLUICE_TRACKING_ARTIFACTS'];
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, CI: '1' };
  for (const k of TRACKING_VARS) delete e[k];
  return { ...e, ...extra };
}

let server: MlflowServer;
beforeAll(async () => {
  if (!missing) server = await startMlflow();
}, 180_000);
afterAll(async () => {
  if (!missing) {
    await server.stop();
    expect(portFree(server.port)).toBe(true);
  }
  rmSync(dir, { recursive: true, force: true });
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

suite('required tracking lost during a run', () => {
  it('exits 4 (not 2) with one message; the run is recorded and its tracking pending; flush sends it when the server is back', async () => {
    const store = join(dir, '.sluice');
    const started = join(dir, 'started');
    const gate = join(dir, 'gate');
    const child = spawn(process.execPath, [BIN, 'run', entry, '--store', store], { cwd: dir, env: env({ LOST_TEST_URI: server.uri, LOST_TEST_STARTED: started, LOST_TEST_GATE: gate }), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // the preflight passed (the step runs), then the server goes away
      await until(() => existsSync(started) || child.exitCode !== null, 120_000);
      expect(existsSync(started), `${out}\n${err}`).toBe(true);
      await server.kill();
      writeFileSync(gate, 'go');
      const code = await exited;
      expect(code, `${out}\n${err}`).toBe(4);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    const lines = err.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^sluice: tracking is required, but MLflow at ${server.uri.replace(/[.]/g, '\\.')} was lost during the run \\(.*\\): run (lost-tracking-\\S+) succeeded and is recorded in the store, its tracking kept pending; \`sluice tracking flush\` sends it once the server is back$`));
    const runId = /run (lost-tracking-\S+) succeeded/.exec(lines[0]!)![1]!;

    const show = spawnSync(process.execPath, [BIN, 'show', runId, '--store', store, '--json'], { cwd: dir, encoding: 'utf8', env: env({}) });
    expect(show.status, show.stderr).toBe(0);
    expect((JSON.parse(show.stdout) as { status: string }).status).toBe('succeeded');
    const t = await openTrackingStore(store, { readonly: true });
    try {
      expect(t.pending().map((p) => p.runId)).toEqual([runId]);
    } finally {
      t.close();
    }

    await server.restart();
    const flush = spawnSync(process.execPath, [BIN, 'tracking', 'flush', '--store', store], { cwd: dir, encoding: 'utf8', env: env({ LOST_TEST_URI: server.uri }) });
    expect(flush.status, flush.stderr).toBe(0);
    expect(flush.stdout).toBe('1 run(s) sent\n');
    const client = new MlflowClient({ uri: server.uri, attempts: 2, timeoutMs: 10_000 });
    const exp = await client.getExperimentByName('lost-tracking');
    expect(exp).toBeTruthy();
    expect(await client.searchRuns([exp as string], `tags.\`sluice.run_id\` = '${runId}' and tags.\`sluice.task_key\` = 'wait'`)).toHaveLength(1);
  }, 300_000);
});
