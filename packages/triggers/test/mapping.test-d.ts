import { describe, expectTypeOf, it } from 'vitest';
import { cond, dataArrival, monitor, schedule, trigger, upstream, type FieldRef } from '../src/define.ts';
import { ingest, report, train } from './helpers.ts';

describe('typed mapping from event fields to the target parameters', () => {
  it('accepts fields and constants of the parameter types', () => {
    trigger({
      name: 'ok', source: dataArrival.webhook({ endpoint: '/new', fields: { uri: 'string', rows: 'integer', rate: 'number' } }), target: train,
      params: (e) => {
        expectTypeOf(e.rows).toEqualTypeOf<FieldRef<number>>();
        expectTypeOf(e.uri).toEqualTypeOf<FieldRef<string>>();
        return { source: e.uri, lr: e.rate, epochs: e.rows, runDate: e.time };
      },
      when: (e) => cond.gt(e.rows, 100),
      policy: { dedupe: ['uri'] },
    });
    trigger({ name: 'art', source: dataArrival.directory('in'), target: ingest, params: (e) => ({ data: e.uri }) });
  });

  it('a string field into a number parameter does not compile', () => {
    trigger({
      name: 'bad', source: schedule({ cron: '0 3 * * *', timezone: 'Etc/UTC' }), target: train,
      // @ts-expect-error scheduledTime is a string, lr a number
      params: (e) => ({ source: 'x', lr: e.scheduledTime }),
    });
    trigger({
      name: 'bad2', source: monitor.drift({ cron: '0 * * * *', timezone: 'Etc/UTC', features: ['x'], threshold: 0.2, reference: { path: 'r.csv' }, current: { path: 'c.csv', window: 100 } }), target: train,
      // @ts-expect-error value is a number, source a string
      params: (e) => ({ source: e.value }),
    });
  });

  it('constants of the wrong type, unknown fields and wrong dedupe fields do not compile', () => {
    trigger({
      name: 'bad3', source: schedule({ cron: '0 3 * * *', timezone: 'Etc/UTC' }), target: train,
      // @ts-expect-error lr is a number
      params: () => ({ source: 'x', lr: 'fast' }),
    });
    trigger({
      name: 'bad4', source: schedule({ cron: '0 3 * * *', timezone: 'Etc/UTC' }), target: train,
      // @ts-expect-error schedule events have no field "size"
      params: (e) => ({ source: e.size }),
    });
    trigger({
      name: 'bad5', source: schedule({ cron: '0 3 * * *', timezone: 'Etc/UTC' }), target: train, params: () => ({ source: 'x' }),
      // @ts-expect-error dedupe names the source's fields
      policy: { dedupe: ['runId'] },
    });
    // @ts-expect-error a time zone is always explicit
    schedule({ cron: '0 3 * * *' });
    trigger({
      name: 'bad6', source: dataArrival.directory('in'), target: train, params: () => ({ source: 'x' }),
      // @ts-expect-error gt compares numbers
      when: (e) => cond.gt(e.key, 3),
    });
  });

  it("an upstream run's outputs are typed fields: a number output fits a number parameter, not a string one", () => {
    trigger({
      name: 'after', source: upstream(train), target: report,
      params: (e) => {
        expectTypeOf(e.outputs.accuracy).toEqualTypeOf<FieldRef<number>>();
        return { accuracy: e.outputs.accuracy, run: e.runId };
      },
      when: (e) => cond.ge(e.outputs.accuracy, 0.5),
    });
    trigger({
      name: 'after-bad', source: upstream(train), target: report,
      // @ts-expect-error accuracy is a number, run a string
      params: (e) => ({ accuracy: e.outputs.accuracy, run: e.outputs.accuracy }),
    });
    trigger({
      name: 'after-bad2', source: upstream(train), target: report,
      // @ts-expect-error train has no output "loss"
      params: (e) => ({ accuracy: e.outputs.loss, run: e.runId }),
    });
    // an artifact output is not an event field
    trigger({
      name: 'after-ingest', source: upstream(ingest), target: report,
      params: (e) => {
        expectTypeOf(e.outputs).toEqualTypeOf<{ readonly rows: FieldRef<number> }>();
        return { accuracy: e.outputs.rows, run: e.runId };
      },
    });
  });
});
