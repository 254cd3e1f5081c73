import type { ContainerComponentIR } from '@sluice/sdk';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runPipeline, type RunEvent } from '../src/index.ts';
import { detectContainerEngine } from '../src/engine/launch.ts';
import { lit, out, pipeline, task, tmp } from './helpers.ts';

const echo: { hash: string; ir: ContainerComponentIR } = {
  hash: 'container0000001',
  ir: {
    kind: 'container', name: 'echo', image: 'busybox:1.36', defaults: {},
    inputs: { word: { kind: 'parameter', type: 'string', schema: {}, optional: false } },
    outputs: {
      said: { kind: 'parameter', type: 'string', schema: {}, optional: false },
      file: { kind: 'artifact', artifactType: 'Dataset', list: false, optional: false },
    },
    command: [
      { kind: 'literal', value: 'sh' }, { kind: 'literal', value: '-c' },
      { kind: 'concat', parts: [{ kind: 'literal', value: 'printf %s "$0" > "$1" && printf %s "$0$0" > "$2"' }] },
      { kind: 'inputValue', input: 'word' }, { kind: 'outputPath', output: 'said' }, { kind: 'outputPath', output: 'file' },
    ],
  },
};

describe.skipIf(detectContainerEngine() !== null)('container components without docker or podman', () => {
  it('run their command on the host with a warning', async () => {
    const events: RunEvent[] = [];
    const p = pipeline('ctr', [echo], [task('e', echo, { word: lit('hey') })], { outputValues: { said: out('e', 'said'), file: out('e', 'file') } });
    const r = await runPipeline(p, { storeDir: tmp(), mode: 'inprocess', onEvent: (e) => events.push(e) });
    expect(r.status).toBe('succeeded');
    expect(r.outputs.said).toBe('hey');
    expect(readFileSync((r.outputs.file as { path: string }).path, 'utf8')).toBe('heyhey');
    expect(events.find((e) => e.type === 'warning')?.message).toContain('no docker or podman engine answers: running the command of echo (image busybox:1.36) on this host');
  });

  it('fail clearly under --containers=require', async () => {
    const p = pipeline('ctr2', [echo], [task('e', echo, { word: lit('hey') })]);
    const r = await runPipeline(p, { storeDir: tmp(), mode: 'inprocess', containers: 'require' });
    expect(r.tasks.e?.error).toBe('nonretryable: container component echo (busybox:1.36) needs docker or podman, and neither answers on this machine (--containers=require)');
  });
});
