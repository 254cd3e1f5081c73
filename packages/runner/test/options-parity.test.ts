/** Option layers merge the same way locally and on Argo (one definition: the SDK's mergeTaskOptions). */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from '@sluice/compiler';
import { toIR } from '@sluice/sdk';
import { runPipeline } from '../src/index.ts';
import { tmp } from './helpers.ts';

const entry = join(import.meta.dirname, 'fixtures', 'options.ts');

describe('task option layers', () => {
  it('pipeline defaults, component defaults and task options reach the step locally and the pod on Argo alike', async () => {
    const r = await runPipeline(entry, { storeDir: tmp(), entry, freshProcesses: true });
    expect(r.status).toBe('succeeded');
    expect(r.outputs['seen']).toBe('from-defaults,from-task,from-component');

    const mod = (await import(entry)) as { default: Parameters<typeof toIR>[0] };
    const [wf] = compile(toIR(mod.default), { entry: 'p.ts' }).objects as [{ spec: { templates: { name: string; container?: { env?: { name: string; value: string }[]; resources?: unknown } }[] } }];
    const leaf = wf.spec.templates.find((t) => t.container)!;
    expect(leaf.container!.env).toEqual([{ name: 'A', value: 'from-defaults' }, { name: 'B', value: 'from-task' }, { name: 'C', value: 'from-component' }]);
    expect(leaf.container!.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '1Gi' } });
  });
});
