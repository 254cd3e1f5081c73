// A pipeline taking an artifact parameter (a local path on `sluice run`): its step reports the bytes it got.
import { readFileSync } from 'node:fs';
import { component, Dataset, pipeline } from '@sluice/sdk';
import { z } from 'zod';

const measure = component({
  name: 'measure',
  inputs: { data: Dataset },
  outputs: { bytes: z.number(), head: z.string() },
  async run({ data }) {
    const text = readFileSync(data.path, 'utf8');
    return { bytes: Buffer.byteLength(text), head: text.split('\n')[0] ?? '' };
  },
});

export default pipeline({ name: 'artifact-param', params: { data: Dataset } }, ({ data }) => {
  const m = measure({ data });
  return { bytes: m.outputs.bytes, head: m.outputs.head };
});
