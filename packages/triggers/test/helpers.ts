import { z } from 'zod';
import { Artifact, component, Dataset, pipeline } from '@sluice/sdk';

export const fit = component({
  name: 'fit',
  inputs: { source: z.string(), lr: z.number(), epochs: z.number().int(), runDate: z.string() },
  outputs: { accuracy: z.number() },
  async run({ lr }) {
    return { accuracy: Math.min(1, 0.5 + lr) };
  },
});

/** A target pipeline: `source` is required, the rest have defaults. */
export const train = pipeline(
  { name: 'train', params: { source: z.string(), lr: z.number().default(0.1), epochs: z.number().int().default(3), runDate: z.string().default('') } },
  ({ source, lr, epochs, runDate }) => {
    const f = fit({ source, lr, epochs, runDate });
    return { accuracy: f.outputs.accuracy };
  },
);

export const load = component({
  name: 'load',
  inputs: { data: Dataset },
  outputs: { rows: z.number().int() },
  async run() {
    return { rows: 1 };
  },
});

export const ingest = pipeline(
  { name: 'ingest', params: { data: Dataset } },
  ({ data }) => ({ rows: load({ data }).outputs.rows }),
);

export const note = component({
  name: 'note',
  inputs: { accuracy: z.number(), run: z.string() },
  outputs: { ok: z.boolean() },
  async run({ accuracy }) {
    return { ok: accuracy > 0.5 };
  },
});

/** A target fed by an upstream run's outputs. */
export const report = pipeline(
  { name: 'report', params: { accuracy: z.number(), run: z.string() } },
  ({ accuracy, run }) => ({ ok: note({ accuracy, run }).outputs.ok }),
);

export const readReport = component({
  name: 'read-report',
  inputs: { data: z.string(), report: Artifact },
  outputs: { bytes: z.number().int() },
  async run({ report }) {
    return { bytes: (await report.read()).length };
  },
});

/** A retrain that takes the drift report as one of its inputs (an artifact parameter). */
export const retrain = pipeline(
  { name: 'retrain', params: { data: z.string(), report: Artifact } },
  ({ data, report }) => ({ bytes: readReport({ data, report }).outputs.bytes }),
);

export const fitLogged = component({
  name: 'fit-logged',
  inputs: { lr: z.number() },
  outputs: { done: z.boolean() },
  async run({ lr }, ctx) {
    for (let step = 0; step < 3; step++) ctx.log.metric('val_accuracy', 0.5 + lr * step, { step });
    return { done: true };
  },
});

/** A pipeline whose quality is a logged metric, not an output. */
export const tracked = pipeline(
  { name: 'tracked', params: { lr: z.number().default(0.1) } },
  ({ lr }) => ({ done: fitLogged({ lr }).outputs.done }),
);
