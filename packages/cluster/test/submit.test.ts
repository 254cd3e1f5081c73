// The manifest's component hashes are the ones the pods answer to: the IR comes from the bundle run
// by plain node (as `node /sluice/bundle/run.mjs` runs it in a pod), not from this process, whose
// loader (here vitest's, in the CLI tsx) may change the run() source text the hashes cover. The
// real controller found it: a pod refused the step ("has no function component <hash>").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writeBundle } from '@sluice/bundle';
import type { PipelineIR } from '@sluice/sdk';
import { expect, test } from 'vitest';
import { compile } from '@sluice/compiler';
import { prepareSubmission } from '../src/submit.ts';

test('the compiled component hashes are those of the bundle as plain node loads it', async () => {
  const sub = await prepareSubmission(path.join(import.meta.dirname, 'fixture/pipeline.ts'), { namespace: 'ns', params: { word: 'x' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-submit-test-'));
  try {
    const pod = JSON.parse(execFileSync(process.execPath, [writeBundle(sub.bundle!, dir), 'ir'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } })) as PipelineIR;
    expect(Object.keys(sub.ir.components).sort()).toEqual(Object.keys(pod.components).sort());
    const args = JSON.stringify(sub.templates);
    for (const hash of Object.keys(pod.components)) expect(args).toContain(hash);
    // the step with an output artifact declares the parameter its pod records the artifacts' hashes in
    const shout = sub.templates.flatMap((t) => (t.spec as { templates: { name: string; outputs?: { parameters?: unknown[] } }[] }).templates).find((t) => t.name === 'shout');
    expect(shout?.outputs?.parameters).toContainEqual({ name: 'sluice-artifacts', valueFrom: { path: '/tmp/sluice/outputs/parameters/sluice-artifacts', default: '{}' } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);

test('`sluice compile` and `sluice submit` declare the same outputs on every template: the artifact hashes parameter included', async () => {
  const sub = await prepareSubmission(path.join(import.meta.dirname, 'fixture/pipeline.ts'), { namespace: 'ns', params: { word: 'x' } });
  const compiled = compile(sub.ir, { entry: 'pipeline.ts', kind: 'template', image: 'img:1' });
  // the memoize keys differ by the code hash submit folds in (compile() is given none here)
  const outputsOf = (objects: readonly { spec?: unknown }[]) => JSON.parse(JSON.stringify(Object.fromEntries(objects.flatMap((o) => (o.spec as { templates: { name: string; outputs?: unknown }[] }).templates).map((t) => [t.name, t.outputs ?? null]))).replace(/"[0-9a-f]{32}-\{\{/g, '"<key>-{{')) as Record<string, unknown>;
  const submitted = outputsOf(sub.templates);
  expect(Object.keys(submitted).length).toBeGreaterThan(1);
  expect(outputsOf(compiled.objects)).toEqual(submitted);
  const declares = Object.entries(submitted).filter(([, o]) => JSON.stringify(o).includes('"sluice-artifacts"')).map(([n]) => n);
  expect(declares).toEqual(['shout']);
}, 120_000);
