/** `sluice exec` with exactly the flags the compiled Argo manifest passes. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { add, behave, write } from './fixtures/basic.ts';
import { fn, pipeline, task, tmp } from './helpers.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'sluice.mjs');
const ENTRY = join(import.meta.dirname, 'fixtures', 'basic.ts');
const exec = (...args: string[]) => spawnSync(process.execPath, [BIN, 'exec', ...args], { encoding: 'utf8', timeout: 60_000 });

describe('sluice exec (the executor contract)', () => {
  it('runs a step from flags and writes outputs with the contract layout', () => {
    const out = join(tmp(), 'outputs');
    const r = exec('--entry', ENTRY, '--component', add.hash, '--task', 'wf.one', '--param', 'a=2', '--param', 'b=3', '--outputs', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'parameters', 'sum'), 'utf8')).toBe('5');
  });

  it('decodes sluice:b64: literals, takes string parameters raw, and reads input artifacts', () => {
    const dir = tmp();
    const out = join(dir, 'outputs');
    const text = 'a {{literal}} brace';
    const r = exec('--entry', ENTRY, '--component', write.hash, '--task', 'w', '--param', `text=sluice:b64:${Buffer.from(text).toString('base64')}`, '--outputs', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'artifacts', 'data'), 'utf8')).toBe(text);
    expect(JSON.parse(readFileSync(join(out, 'artifacts', 'data.meta.json'), 'utf8'))).toEqual({});
  });

  it('exits 2 on invalid inputs, 1 on a user failure, 3 on NonRetryableError', () => {
    const out = join(tmp(), 'outputs');
    const bad = exec('--entry', ENTRY, '--component', add.hash, '--task', 't', '--param', 'a=fast', '--param', 'b=1', '--outputs', out);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('expected JSON for a number parameter, got "fast"');
    expect(exec('--entry', ENTRY, '--component', behave.hash, '--task', 't', '--param', 'how=throw', '--outputs', out).status).toBe(1);
    const nr = exec('--entry', ENTRY, '--component', behave.hash, '--task', 't', '--param', 'how=nonretryable', '--outputs', out);
    expect(nr.status).toBe(3);
    expect(JSON.parse(readFileSync(join(out, 'error.json'), 'utf8'))).toMatchObject({ status: 'nonretryable', message: 'give up' });
    expect(exec('--entry', ENTRY, '--component', 'ffff', '--task', 't', '--outputs', out).stderr).toContain('has no function component ffff');
  });

  it('gives input artifacts to the step with their metadata sidecar', () => {
    const dir = tmp();
    const reader = fn('reader', { inputs: { data: 'artifact:Dataset' }, outputs: { text: 'string' } }, async () => ({}));
    void reader; void pipeline; void task;
    const input = join(dir, 'in');
    mkdirSync(dir, { recursive: true });
    writeFileSync(input, '1,2,3');
    writeFileSync(`${input}.meta.json`, JSON.stringify({ rows: 1 }));
    // `write` has no artifact input: the executor names the unknown input
    const r = exec('--entry', ENTRY, '--component', write.hash, '--task', 't', '--param', 'text=x', '--artifact', `data=${input}`, '--outputs', join(dir, 'o'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('t/inputs.data: no artifact input "data" on component write');
  });
});
