/**
 * Tracking from the pipeline's option: plain data in the IR (no secret value), validated at the
 * edge with located messages, and one precedence: `sluice run` flag > environment > option > none.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { component, pipeline, toIR, type TrackingIR } from '@sluice/sdk';
import { resolveTracking, targetEnv } from '../src/index.ts';
import { preflightTracking } from '../../runner/src/tracking.ts';

const noop = component({ name: 'noop', inputs: { x: z.number() }, outputs: {}, async run() {} });
const build = (tracking: object) => toIR(pipeline({ name: 'p', tracking: tracking as never }, () => { noop({ x: 1 }); }));
const thrown = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
};

describe('the tracking option in the IR', () => {
  it('is plain data with the token as a reference only', () => {
    const ir = build({ uri: 'https://mlflow.example.com:5000', experiment: 'iris', required: true, token: { secret: 'mlflow', key: 'token' }, artifacts: 'models' });
    expect(ir.options.tracking).toEqual({ uri: 'https://mlflow.example.com:5000', experiment: 'iris', required: true, token: { secret: 'mlflow', key: 'token' }, artifacts: 'models' });
    expect(JSON.parse(JSON.stringify(ir.options.tracking))).toEqual(ir.options.tracking);
    expect(Object.isFrozen(ir.options.tracking)).toBe(true);
  });

  it('refuses a bad scheme, an empty experiment, credentials in the URI and a token value, each located', () => {
    expect(thrown(() => build({ uri: 'ftp://mlflow:21' }))).toContain('p/options.tracking.uri: scheme "ftp:" is not supported (expected http: or https: of an MLflow server, or "embedded")');
    expect(thrown(() => build({ uri: 'not a url' }))).toContain('p/options.tracking.uri: "not a url" is not a URL');
    expect(thrown(() => build({ experiment: '  ' }))).toContain('p/options.tracking.experiment: expected a non-empty experiment name, got "  "');
    const creds = thrown(() => build({ uri: 'https://bob:hunter2@mlflow.example.com' }));
    expect(creds).toContain('p/options.tracking.uri: the URI carries credentials');
    expect(creds).not.toContain('hunter2');
    expect(thrown(() => build({ token: 'abc123' }))).toContain('p/options.tracking.token: expected a secret reference { secret, key }, never the token itself');
    expect(thrown(() => build({ token: { secret: 'Bad_Name', key: 'k' } }))).toContain('p/options.tracking.token.secret: expected a Kubernetes secret name');
    expect(thrown(() => build({ artifacts: 'some' }))).toContain('p/options.tracking.artifacts: expected one of none, models, all, got "some"');
    expect(thrown(() => build({ uri: 'http://h/{{workflow.name}}' }))).toContain('p/options.tracking.uri: contains "{{"');
  });
});

describe('precedence: flag > environment > option > default', () => {
  const option: TrackingIR = { uri: 'http://option:1', experiment: 'from-option', required: true, artifacts: 'all' };
  it('the option alone decides when nothing else is set', () => {
    expect(resolveTracking({}, option, {}, 'pipe')).toEqual({ kind: 'mlflow', uri: 'http://option:1', experiment: 'from-option', required: true, artifacts: 'all' });
    expect(resolveTracking({}, {}, {}, 'pipe')).toEqual({ kind: 'embedded' });
    expect(resolveTracking({}, { uri: 'http://o:1' }, {}, 'pipe')).toEqual({ kind: 'mlflow', uri: 'http://o:1', experiment: 'pipe', required: false, artifacts: 'none' });
  });
  it('the environment beats the option, SLUICE_ before MLFLOW_', () => {
    const env = { MLFLOW_TRACKING_URI: 'http://mlflow-env:2', SLUICE_TRACKING_EXPERIMENT: 'from-env', SLUICE_TRACKING_REQUIRED: 'false', SLUICE_TRACKING_ARTIFACTS: 'models', MLFLOW_TRACKING_TOKEN: 't0k' };
    expect(resolveTracking(env, option, {}, 'pipe')).toEqual({ kind: 'mlflow', uri: 'http://mlflow-env:2', experiment: 'from-env', required: false, artifacts: 'models', token: 't0k' });
    expect(resolveTracking({ ...env, SLUICE_TRACKING_URI: 'http://sluice-env:3' }, option, {}, 'pipe')).toMatchObject({ uri: 'http://sluice-env:3' });
    expect(resolveTracking({ SLUICE_TRACKING_URI: 'embedded' }, option, {}, 'pipe')).toEqual({ kind: 'embedded' });
  });
  it('a flag beats both', () => {
    const env = { SLUICE_TRACKING_URI: 'http://env:2', SLUICE_TRACKING_EXPERIMENT: 'from-env', SLUICE_TRACKING_REQUIRED: 'true', SLUICE_TRACKING_ARTIFACTS: 'models' };
    expect(resolveTracking(env, option, { uri: 'http://flag:4', experiment: 'from-flag', required: false, artifacts: 'none' }, 'pipe')).toEqual({ kind: 'mlflow', uri: 'http://flag:4', experiment: 'from-flag', required: false, artifacts: 'none' });
    expect(resolveTracking(env, option, { uri: 'embedded' }, 'pipe')).toEqual({ kind: 'embedded' });
  });
  it('bad values from the environment or a flag name where they came from', () => {
    expect(thrown(() => resolveTracking({ MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' }, {}, {}, 'p'))).toBe('MLFLOW_TRACKING_URI: tracking URI scheme "file:" is not supported (expected http: or https: of an MLflow server, or "embedded")');
    expect(thrown(() => resolveTracking({}, option, { uri: 'ftp://x' }, 'p'))).toMatch(/^--tracking-uri: tracking URI scheme "ftp:"/);
    expect(thrown(() => resolveTracking({ SLUICE_TRACKING_REQUIRED: 'maybe' }, option, {}, 'p'))).toBe('SLUICE_TRACKING_REQUIRED: expected true or false (1/0, yes/no), got "maybe"');
  });
  it('what the runner resolved reaches its steps unchanged, whatever their inherited environment says', () => {
    const resolved = resolveTracking({}, option, { uri: 'http://flag:4' }, 'pipe');
    const stepEnv = { MLFLOW_TRACKING_URI: 'http://ambient:9', SLUICE_TRACKING_REQUIRED: 'false', ...targetEnv(resolved) };
    expect(resolveTracking(stepEnv, {}, {}, 'other')).toEqual(resolved);
    expect(resolveTracking({ MLFLOW_TRACKING_URI: 'http://ambient:9', ...targetEnv({ kind: 'embedded' }) })).toEqual({ kind: 'embedded' });
  });
});

describe('sluice run with a bad tracking option', () => {
  it('exits 2 with the located message and writes no store', async () => {
    const { spawnSync } = await import('node:child_process');
    const dir = mkdtempSync(join(import.meta.dirname, '.tmp-topt-')) // inside the package, so that the pipeline file resolves zod and @sluice/sdk as a project's would;
    try {
      const file = join(dir, 'p.ts');
      writeFileSync(file, `import { z } from 'zod';\nimport { component, pipeline } from '@sluice/sdk';\nconst c = component({ name: 'c', inputs: { x: z.number() }, outputs: {}, async run() {} });\nexport default pipeline({ name: 'bad-tracking', tracking: { uri: 'mlflow://x', experiment: '' } }, () => { c({ x: 1 }); });\n`);
      const root = join(import.meta.dirname, '..', '..', '..');
      const r = spawnSync(process.execPath, [join(root, 'packages', 'runner', 'bin', 'sluice.mjs'), 'run', file, '--store', join(dir, '.sluice')], { encoding: 'utf8', cwd: join(import.meta.dirname, '..') });
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('bad-tracking/options.tracking.uri: scheme "mlflow:" is not supported');
      expect(r.stderr).toContain('bad-tracking/options.tracking.experiment: expected a non-empty experiment name, got ""');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(spawnSync('ls', [join(dir, '.sluice')]).status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('required tracking preflight', () => {
  it('a server that answers but refuses (403) is refused by name, with the token never in the message', async () => {
    const { createServer } = await import('node:http');
    const seen: string[] = [];
    const srv = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error_code: 'PERMISSION_DENIED', message: 'Permission denied' }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const uri = `http://127.0.0.1:${(srv.address() as { port: number }).port}`;
    try {
      const target = resolveTracking({ MLFLOW_TRACKING_TOKEN: 'tok-xyz' }, { uri, required: true }, {}, 'p');
      const msg = await preflightTracking(target).then(() => 'no error', (e: Error) => `${e.name}: ${e.message}`);
      expect(msg).toMatch(new RegExp(`^TrackingError: tracking is required, but MLflow at ${uri.replace(/[.]/g, '\\.')} refused the request \\(.*PERMISSION_DENIED.*\\); nothing was run\\.`));
      expect(msg).not.toContain('tok-xyz');
      expect(seen).toEqual(['Bearer tok-xyz']); // sent once: a 4xx is not retried
      // not required: no check at all
      await preflightTracking(resolveTracking({}, { uri }, {}, 'p'));
      expect(seen).toHaveLength(1);
    } finally {
      srv.close();
    }
  });
});
