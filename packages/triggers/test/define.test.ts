import { describe, expect, it } from 'vitest';
import { SluiceValidationError } from '@sluice/sdk';
import { cond, dataArrival, monitor, schedule, trigger, upstream } from '../src/define.ts';
import { validateTriggerIR, validateTriggerSet } from '../src/validate.ts';
import type { TriggerIR } from '../src/ir.ts';
import { ingest, train } from './helpers.ts';

function problems(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof SluiceValidationError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  throw new Error('expected a validation error');
}

describe('trigger IR', () => {
  it('is frozen, versioned plain data with every default written', () => {
    const t = trigger({
      name: 'nightly', source: schedule({ cron: '0 3 * * *', timezone: 'Europe/Berlin' }), target: train,
      params: (e) => ({ source: 'data/iris.csv', runDate: e.scheduledTime }),
    });
    expect(t.ir).toEqual({
      kind: 'trigger', irVersion: 1, name: 'nightly',
      source: { kind: 'schedule', cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUpMs: 60_000 },
      condition: null,
      target: {
        pipeline: 'train',
        params: {
          epochs: { kind: 'parameter', type: 'integer', optional: true }, lr: { kind: 'parameter', type: 'number', optional: true },
          runDate: { kind: 'parameter', type: 'string', optional: true }, source: { kind: 'parameter', type: 'string', optional: false },
        },
      },
      mapping: { source: { kind: 'literal', value: 'data/iris.csv' }, runDate: { kind: 'field', field: 'scheduledTime' } },
      policy: { dedupe: ['scheduledTime'], cooldownMs: 0, concurrency: 'skip', maxFires: null, hysteresis: null, maxDepth: null },
    });
    expect(Object.isFrozen(t.ir)).toBe(true);
    expect(Object.isFrozen(t.ir.policy.dedupe)).toBe(true);
    expect(JSON.parse(JSON.stringify(t.ir))).toEqual(t.ir);
  });

  it('schedule: cron and time zone checked, with the path of the problem', () => {
    expect(problems(() => trigger({ name: 'a', source: schedule({ cron: '0 3 * *', timezone: 'Europe/Berlin' }), target: train, params: () => ({ source: 'x' }) }))).toEqual([
      'a/source.schedule: cron "0 3 * *" must have five fields (minute hour day-of-month month day-of-week), found 4',
    ]);
    expect(problems(() => trigger({ name: 'a', source: schedule({ cron: '61 3 * * *', timezone: 'Europe/Berlin' }), target: train, params: () => ({ source: 'x' }) }))).toEqual([
      'a/source.schedule: cron "61 3 * * *": Invalid value for minute: 61',
    ]);
    expect(problems(() => trigger({ name: 'a', source: schedule({ cron: '0 3 * * *', timezone: 'Europe/Berlinn' }), target: train, params: () => ({ source: 'x' }) }))).toEqual([
      'a/source.schedule: unknown time zone "Europe/Berlinn" (an IANA name such as "Europe/Berlin")',
    ]);
    expect(problems(() => trigger({ name: 'a', source: schedule({ cron: '0 3 * * *', timezone: '', catchUp: '5 minutes' }), target: train, params: () => ({ source: 'x' }) }))).toEqual([
      'a/source.schedule: a time zone is required (for example "Etc/UTC" or "Europe/Berlin")',
      'a/source.schedule.catchUp: catch-up window must be a duration such as "10m" or a number of seconds ≥ 0',
    ]);
  });

  it('mapping, condition and policy problems are all reported together', () => {
    const msgs = problems(() => trigger({
      name: 'Bad_Name',
      source: dataArrival.webhook({ endpoint: 'new', fields: { rows: 'integer', who: 'string' } }),
      target: train,
      params: (e) => ({ lr: e.rows, ...({ epochs: e.who, batch: 3 } as object) }),
      when: (e) => cond.and(cond.gt(e.rows, 0), cond.matches(e.who, '(')),
      policy: { cooldown: -1, maxFires: { count: 0, window: '1d' }, hysteresis: { high: 1, low: 2 }, dedupe: ['nope' as 'rows'] },
    }));
    expect(msgs).toEqual([
      `Bad_Name/name: name "Bad_Name" must be lower-case letters, digits and '-', at most 40 characters (it names Argo objects)`,
      'Bad_Name/source.data.webhook.endpoint: endpoint "new" must be a URL path such as "/new-data"',
      'Bad_Name/when.and[1]: invalid pattern: Invalid regular expression: /(/: Unterminated group',
      'Bad_Name/params.epochs: field "who" is a string, parameter "epochs" is an integer',
      'Bad_Name/params.batch: train has no parameter "batch" (it has epochs, lr, runDate, source)',
      'Bad_Name/params.source: parameter "source" of train has no default: map an event field or a constant to it',
      'Bad_Name/policy.dedupe: unknown field "nope" (data events carry time, rows, who)',
      'Bad_Name/policy.cooldown: cooldown must be a duration such as "30m" or a number of seconds ≥ 0',
      'Bad_Name/policy.maxFires.count: count must be a positive integer, found 0',
      'Bad_Name/policy.hysteresis: hysteresis applies to monitor triggers, not data',
    ]);
  });

  it('monitors: drift spec and lineage reference checked', () => {
    const msgs = problems(() => trigger({
      name: 'drift', target: train, params: () => ({ source: 'x' }),
      source: monitor.drift({ cron: '*/5 * * * *', timezone: 'Etc/UTC', features: ['a', 'a'], threshold: 0, alpha: 2, bins: 1, reference: { lineage: 'data' }, current: { path: 'x.csv', window: 0 } }),
    }));
    expect(msgs).toEqual([
      'drift/source.monitor.drift.threshold: threshold must be > 0, found 0',
      'drift/source.monitor.drift.alpha: alpha must be between 0 and 1, found 2',
      'drift/source.monitor.drift.bins: bins must be an integer from 2 to 100, found 1',
      'drift/source.monitor.drift.features: feature "a" is listed twice',
      'drift/source.monitor.drift.current.window: window must be a positive number of rows, found 0',
      'drift/source.monitor.drift.reference.lineage: the target train has no parameter "data" to take the reference from (it has epochs, lr, runDate, source)',
    ]);
  });

  it('S3 sources: bucket, endpoint, credential variable names and poll checked; credentials are names, never values', () => {
    expect(problems(() => trigger({
      name: 's3', target: ingest, params: (e) => ({ data: e.uri }),
      source: dataArrival.s3({ bucket: 'R', prefix: '/daily', endpoint: 'minio:9000', poll: '100ms', credentials: { accessKeyEnv: 'MY KEY', secret: 'Bad_Secret' } }),
    }))).toEqual([
      's3/source.data.s3.bucket: "R" is not a valid bucket name',
      's3/source.data.s3.prefix: prefix "/daily" must not start with "/"',
      's3/source.data.s3.endpoint: endpoint "minio:9000" must be http://host:port or https://host:port',
      's3/source.data.s3.credentials.accessKeyEnv: "MY KEY" is not an environment variable name',
      's3/source.data.s3.credentials.secret: "Bad_Secret" is not a Kubernetes Secret name',
      's3/source.data.s3.poll: poll must be a duration of at least 1s',
    ]);
    const ok = trigger({ name: 's3', target: ingest, params: (e) => ({ data: e.uri }), source: dataArrival.s3({ bucket: 'raw', prefix: 'daily/', endpoint: 'https://s3.internal:9000' }) });
    expect((ok.ir.source as { location: unknown }).location).toEqual({
      kind: 's3', bucket: 'raw', prefix: 'daily/', endpoint: 'https://s3.internal:9000',
      credentials: { accessKeyEnv: 'AWS_ACCESS_KEY_ID', secretKeyEnv: 'AWS_SECRET_ACCESS_KEY', secret: 'sluice-s3' }, pollMs: 30_000,
    });
    // IR from before credentials were written
    const old = structuredClone(ok.ir) as unknown as { source: { location: Record<string, unknown> } };
    delete old.source.location.credentials;
    expect(validateTriggerIR(old as unknown as TriggerIR).map((i) => `${i.path}: ${i.message}`)).toEqual(['s3/source.data.s3.credentials: credentials are missing (trigger IR written by an older version: define the trigger again)']);
  });

  it('hand-written IR is validated the same way (a typo in JSON is caught)', () => {
    const t = trigger({ name: 'up', source: upstream('ingest', { statuses: ['succeeded'] }), target: train, params: (e) => ({ source: e.runId }) });
    const broken = { ...t.ir, source: { ...t.ir.source, statuses: ['succeded'] }, policy: { ...t.ir.policy, concurrency: 'parallel' } } as unknown as TriggerIR;
    expect(validateTriggerIR(broken).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'up/source.upstream.statuses: unknown status "succeded" (succeeded, failed, interrupted)',
      'up/policy.concurrency: concurrency must be allow, skip, queue or replace, found "parallel"',
    ]);
  });

  it('trigger cycles a -> b -> a are errors unless one declares maxDepth', () => {
    const a = trigger({ name: 'a', source: upstream(train), target: ingest, params: (e) => ({ data: e.runId }) });
    const b = trigger({ name: 'b', source: upstream(ingest), target: train, params: (e) => ({ source: e.runId }) });
    expect(validateTriggerSet([a.ir, b.ir]).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'b/source.upstream: triggers form a cycle: ingest -> train (by b) -> ingest (by a); declare policy.maxDepth on one of them to allow it',
    ]);
    const self = trigger({ name: 'self', source: upstream(train), target: train, params: (e) => ({ source: e.runId }) });
    expect(validateTriggerSet([self.ir]).map((i) => i.message)).toEqual(['triggers form a cycle: train -> train (by self); declare policy.maxDepth on one of them to allow it']);
    const bounded = trigger({ name: 'b', source: upstream(ingest), target: train, params: (e) => ({ source: e.runId }), policy: { maxDepth: 3 } });
    expect(validateTriggerSet([a.ir, bounded.ir])).toEqual([]);
    expect(validateTriggerSet([b.ir, b.ir]).map((i) => i.message)).toEqual(['two triggers are named "b"']);
  });
});
