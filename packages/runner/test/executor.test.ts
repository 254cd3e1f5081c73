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

  it('decodes --param-b64 values, takes --param values raw (an in-band "sluice:b64:" stays text), and reads input artifacts', () => {
    const dir = tmp();
    const out = join(dir, 'outputs');
    const text = 'a {{literal}} brace \u0000';
    const r = exec('--entry', ENTRY, '--component', write.hash, '--task', 'w', '--param-b64', `text=${Buffer.from(text).toString('base64')}`, '--outputs', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'artifacts', 'data'), 'utf8')).toBe(text);
    const out2 = join(dir, 'outputs2');
    const forged = `sluice:b64:${Buffer.from('hello').toString('base64')}`;
    const r2 = exec('--entry', ENTRY, '--component', write.hash, '--task', 'w', '--param', `text=${forged}`, '--outputs', out2);
    expect(r2.status, r2.stderr).toBe(0);
    expect(readFileSync(join(out2, 'artifacts', 'data'), 'utf8')).toBe(forged);
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

  it('names the components there are when the component hash is not found, and a code difference when the name matches', () => {
    const out = join(tmp(), 'outputs');
    const known = `its function components are:\n  add ${add.hash}\n  write ${write.hash}\n  behave ${behave.hash}\n`;
    const other = exec('--entry', ENTRY, '--component', 'ffff', '--task', 'wf-x.train', '--outputs', out);
    expect(other.status).toBe(2);
    expect(other.stderr).toBe(`sluice exec: ${ENTRY} has no function component ffff; ${known}was the workflow compiled from a different version of the pipeline? Recompile it with \`sluice compile\` and rebuild the image.\n`);
    expect(JSON.parse(readFileSync(join(out, 'error.json'), 'utf8'))).toMatchObject({ status: 'invalid' });
    const differs = `component add is here as ${add.hash}: the code in this image or working tree differs from the code that was compiled (the hash covers the source of run() as loaded). Rebuild the image from the compiled tree, or recompile with the sluice CLI (\`sluice compile\`, which loads the pipeline with the executor's own loader).\n`;
    // the name from the Argo node name (`<workflow>.<task>(<retry>)`) ...
    const fromTask = exec('--entry', ENTRY, '--component', 'ffff', '--task', 'wf-x.add(1)', '--outputs', out);
    expect(fromTask.stderr).toBe(`sluice exec: ${ENTRY} has no function component ffff; ${known}${differs}`);
    // ... or given; a pod never runs other code than the compiled one
    const named = exec('--entry', ENTRY, '--component', 'ffff', '--component-name', 'write', '--task', 't', '--param', 'text=x', '--outputs', out);
    expect(named.status).toBe(2);
    expect(named.stderr).toContain(`component write is here as ${write.hash}: the code in this image or working tree differs`);
    const missing = exec('--entry', ENTRY, '--component', 'ffff', '--component-name', 'train', '--task', 't', '--outputs', out);
    expect(missing.stderr).toContain('has no function component ffff (train); its function components are:');
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

  it('assembles a collected input from one directory and the loop order (Argo fan-in), and refuses a missing entry', () => {
    const dir = tmp();
    const inputs = join(dir, 'inputs', 'metrics');
    for (const [entry, text] of [['wf-score-2', 'b'], ['wf-score-1', 'a'], ['wf-score-9', 'stray']] as const) {
      mkdirSync(inputs, { recursive: true });
      writeFileSync(join(inputs, entry), text);
    }
    const fanin = join(import.meta.dirname, 'fixtures', 'fanin.ts');
    // The component hash as the executor (tsx) computes it: compile the fixture the way users do.
    const ir = JSON.parse(spawnSync(process.execPath, [BIN, 'compile', fanin, '--format', 'ir'], { encoding: 'utf8' }).stdout) as { components: Record<string, { name: string }> };
    const gather = { hash: Object.entries(ir.components).find(([, c]) => c.name === 'gather')![0] };
    const out = join(dir, 'outputs');
    const r = exec('--entry', fanin, '--component', gather.hash, '--task', 'wf.gather', '--artifact', `metrics=${inputs}`, '--artifact-order', 'metrics=["wf-score-1","wf-score-2"]', '--outputs', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(out, 'parameters', 'seen'), 'utf8')).toBe('a,b');
    const missing = exec('--entry', fanin, '--component', gather.hash, '--task', 'wf.gather', '--artifact', `metrics=${inputs}`, '--artifact-order', 'metrics=["wf-score-1","wf-score-3"]', '--outputs', out);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`input metrics: 1 of 2 collected artifacts are missing from ${inputs}: item 1 ("wf-score-3")`);
    expect(JSON.parse(readFileSync(join(out, 'error.json'), 'utf8'))).toMatchObject({ status: 'invalid' });
  });
});
