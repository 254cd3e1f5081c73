// Argo's own offline, strict lint (tools/argo-lint) judges every manifest the compiler emits,
// our hand-written known-good manifests, and a set of broken ones whose errors are pinned.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { argoLint } from './support/argo-lint.ts';
import {
  fixtureFiles,
  goldenFiles,
  missingBinary,
  missingGo,
  pinnedVersion,
  readExpectations,
  repoRoot,
  rel,
  skipReason,
} from './support/paths.ts';

const skip = skipReason(missingGo() ?? missingBinary('argo-lint'));
if (skip) console.warn(`[oracles] skipping argo-lint suites: ${skip}`);
const suite = skip ? describe.skip : describe;

suite(`argo-lint (argo-workflows ${pinnedVersion('argo')}, offline, strict)`, () => {
  describe('accepts the hand-written good fixtures', () => {
    test.each(fixtureFiles('good').map(rel))('%s', async (file) => {
      const v = await argoLint(file);
      expect(v.errors).toEqual([]);
      expect(v.linted, 'argo-lint found no Argo object in it').toBe(true);
    });
  });

  describe('rejects the broken fixtures with the pinned errors', () => {
    test.each(fixtureFiles('bad').map(rel))('%s', async (file) => {
      const want = readExpectations(file).argoLint;
      const v = await argoLint(file);
      expect(v.linted, 'argo-lint found no Argo object in it').toBe(true);
      expect(v.errors).toEqual(want === 'ok' ? [] : want);
    });
  });

  const goldens = goldenFiles().map(rel);
  if (goldens.length === 0) {
    test.skip('compiler goldens (none found yet under packages/compiler/test/golden or examples/*/golden)', () => {});
  } else {
    describe('accepts every compiler golden', () => {
      test.each(goldens)('%s', async (file) => {
        const v = await argoLint(file);
        expect(v.errors).toEqual([]);
        if (/^apiVersion: *argoproj\.io\//m.test(readFileSync(path.resolve(repoRoot, file), 'utf8'))) {
          expect(v.linted, `argo-lint linted no Argo object in it:\n${v.stderr}`).toBe(true);
        }
      });
    });
  }
});
