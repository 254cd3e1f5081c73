/**
 * Retrain the iris model when its features drift. The monitor compares the newest 300 rows of the
 * stream with the data the current model was trained on (lineage: the `source` parameter of
 * tabular-training's last successful run; a copy of the bundled iris.csv under reference/ before the first
 * retrain), with PSI
 * per feature, a chi-square test on the same bins and a Bonferroni correction across the four
 * features. It fires after two evaluations in a row at PSI ≥ 0.25 and re-arms when PSI falls below
 * 0.1, which a retrain on the drifted data makes happen: the reference advances.
 *
 *   pnpm sluice triggers serve -f examples/continuous-training/triggers.ts
 */
import { fileURLToPath } from 'node:url';
import { monitor, trigger } from '@sluice/triggers';
import tabular from '../tabular-training/pipeline.ts';
import { FEATURES } from '../tabular-training/src/data.ts';

export const irisDrift = trigger({
  name: 'iris-drift',
  description: 'retrain and promote when the measured flowers drift away from the training data',
  source: monitor.drift({
    cron: '*/5 * * * *', timezone: 'Etc/UTC', catchUp: '10m',
    features: [...FEATURES], statistic: 'psi', threshold: 0.25,
    // relative paths: under the daemon's working directory locally, under the S3 store's data/ on the cluster
    reference: { lineage: 'source', fallback: 'reference/iris.csv' },
    current: { path: 'stream', window: 300 },
  }),
  target: tabular,
  // the daemon runs it as `sluice run` would: steps in their own processes
  entry: fileURLToPath(new URL('../tabular-training/pipeline.ts', import.meta.url)),
  params: (e) => ({ source: e.data, minAccuracy: 0.8 }),
  policy: { hysteresis: { high: 0.25, low: 0.1, evaluations: 2 }, cooldown: '30m', concurrency: 'skip' },
});
