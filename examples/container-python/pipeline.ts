/**
 * A container component: a standard-library Python script that fits a line and scores it on
 * held-out rows. On a cluster it runs in `python:3.12-slim`; locally, with no docker or podman
 * engine, the runner runs the same command on the host's `python3` (and says so).
 *
 *   pnpm sluice run examples/container-python/pipeline.ts
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { component, containerComponent, pipeline, Dataset, Metrics, Model } from '@sluice/sdk';
import { checkNumericCsv, predictLine, resolveDataPath, type Line } from './src/data.ts';

/**
 * The script travels inside the command (`python3 -c <source>`), so the stock image is enough:
 * no image to build. For a larger project, bake the code into an image and call it by path.
 */
export const FIT_LINE_PY = readFileSync(new URL('./scripts/fit_line.py', import.meta.url), 'utf8');

export const loadCsv = component({
  name: 'load-csv',
  description: 'Checks the two columns are present and numeric, and passes the file on.',
  inputs: { source: z.string(), x: z.string(), y: z.string() },
  outputs: { data: Dataset, rows: z.number().int() },
  async run({ source, x, y }, ctx) {
    const path = resolveDataPath(source);
    const rows = checkNumericCsv(readFileSync(path, 'utf8'), [x, y]);
    await ctx.outputs.data.copyFrom(path);
    return { rows };
  },
});

export const fitLine = containerComponent({
  name: 'fit-line',
  description: 'Least squares in Python (standard library only), held-out R^2 and RMSE.',
  image: 'python:3.12-slim',
  inputs: { data: Dataset, x: z.string(), y: z.string() },
  outputs: { model: Model, metrics: Metrics, r2: z.number() },
  command: ({ inputs, outputs }) => [
    'python3', '-c', FIT_LINE_PY,
    '--data', inputs.data.path, '--x', inputs.x, '--y', inputs.y,
    '--model', outputs.model.path, '--metrics', outputs.metrics.path, '--r2', outputs.r2.path,
  ],
});

export const predict = component({
  name: 'predict',
  description: 'Uses the fitted line from TypeScript: the Python output is an ordinary Model artifact.',
  inputs: { model: Model, x: z.number() },
  outputs: { y: z.number() },
  async run({ model, x }) {
    return { y: predictLine(await model.readJson<Line>(), x) };
  },
});

export default pipeline(
  {
    name: 'container-python',
    // Function steps run in a pod from an image holding this repository (see the README's Dockerfile).
    image: 'sluice-examples:0.1.0',
    description: 'A Python container step between two TypeScript steps.',
    params: {
      source: z.string().default('data/houses.csv'),
      x: z.string().default('size_m2'),
      y: z.string().default('price_k'),
      /** Where to evaluate the fitted line (a house of this many m²). */
      at: z.number().default(120),
    },
  },
  ({ source, x, y, at }) => {
    const data = loadCsv({ source, x, y });
    const fit = fitLine({ data: data.outputs.data, x, y }).resources({ cpu: '500m', memory: '256Mi' });
    const price = predict({ model: fit.outputs.model, x: at });
    return { model: fit.outputs.model, metrics: fit.outputs.metrics, r2: fit.outputs.r2, prediction: price.outputs.y };
  },
);
