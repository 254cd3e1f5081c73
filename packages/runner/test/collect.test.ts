import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CollectError, collectedPaths, parseArtifactOrder, resolveCollectedArtifacts } from '../../executor/src/collect.ts';

/** A downloaded prefix: one entry per pod (a file, or a directory for a directory artifact), plus a stray failed attempt. */
function prefix(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-collect-'));
  writeFileSync(join(dir, 'wf-fit-222'), 'second');
  writeFileSync(join(dir, 'wf-fit-111'), 'first');
  mkdirSync(join(dir, 'wf-fit-333'));
  writeFileSync(join(dir, 'wf-fit-333', 'weights.bin'), 'third');
  writeFileSync(join(dir, 'wf-fit-999'), 'failed attempt');
  return dir;
}

describe('collected artifact inputs', () => {
  it('gives the entries in item order, whatever the directory order, and ignores entries not named', () => {
    const dir = prefix();
    expect(collectedPaths('models', dir, ['wf-fit-333', 'wf-fit-111', 'wf-fit-222'])).toEqual([join(dir, 'wf-fit-333'), join(dir, 'wf-fit-111'), join(dir, 'wf-fit-222')]);
  });
  it('replaces the directory of each ordered input and leaves the others', () => {
    const dir = prefix();
    expect(resolveCollectedArtifacts({ models: [dir], data: ['/tmp/sluice/inputs/data'] }, ['models=["wf-fit-222","wf-fit-111"]'])).toEqual({
      models: [join(dir, 'wf-fit-222'), join(dir, 'wf-fit-111')],
      data: ['/tmp/sluice/inputs/data'],
    });
  });
  it('gives an empty list for a loop over no items, even without the directory', () => {
    expect(resolveCollectedArtifacts({ models: ['/nonexistent/models'] }, ['models=[]'])).toEqual({ models: [] });
  });
  it('names the input and the missing items', () => {
    const dir = prefix();
    expect(() => collectedPaths('models', dir, ['wf-fit-111', 'wf-fit-444'])).toThrow(new CollectError(`input models: 1 of 2 collected artifacts are missing from ${dir}: item 1 ("wf-fit-444")`));
    expect(() => collectedPaths('models', '/nonexistent/models', ['a'])).toThrow(
      "input models: the collected artifacts' directory /nonexistent/models is missing (expected 1 entries); did the loop's steps store their artifacts in the artifact repository?",
    );
  });
  it('refuses malformed orders, path tricks and orders without their directory', () => {
    expect(() => parseArtifactOrder('models')).toThrow('--artifact-order expects name=<JSON list of entry names>, got "models"');
    expect(() => parseArtifactOrder('models={{tasks.sweep.outputs.parameters.x}}')).toThrow('input models: --artifact-order expects a JSON list of entry names, got "{{tasks.sweep.outputs.parameters.x}}"');
    expect(() => parseArtifactOrder('models=[1]')).toThrow('input models: --artifact-order expects a JSON list of entry names, got "[1]"');
    expect(() => parseArtifactOrder('models=["../etc"]')).toThrow('input models: entry name "../etc" is not a single path segment');
    expect(() => resolveCollectedArtifacts({}, ['models=["a"]'])).toThrow('input models: --artifact-order needs exactly one --artifact models=<directory>, got 0');
  });
});
