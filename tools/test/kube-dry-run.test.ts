// A real kube-apiserver with Argo's full CRDs (../shared/argo/crds) judges every manifest:
// server-side dry run with strict field validation runs the CRDs' OpenAPI schema (enums,
// patterns, size caps), their CEL rules and admission, and stores nothing.
import { describe, expect, inject, test } from 'vitest';
import { KubeClient } from './support/kube/client.ts';
import { dryRun } from './support/kube/dry-run.ts';
import { fixtureFiles, goldenFiles, readExpectations, rel } from './support/paths.ts';

const provided = inject('kube');
const skip = 'skip' in provided ? provided.skip : undefined;
if (skip) console.warn(`[oracles] skipping kube-apiserver dry-run suites: ${skip}`);
const suite = skip ? describe.skip : describe;
const conn = 'conn' in provided ? provided.conn : undefined;

const versions = conn ? `Kubernetes ${conn.versions.kubernetes}, etcd ${conn.versions.etcd}, ` : '';
suite(`kube-apiserver dry run (${versions}Argo CRDs from ../shared/argo/crds)`, () => {
  const kube = new KubeClient(conn!);

  describe('accepts the hand-written good fixtures', () => {
    test.each(fixtureFiles('good').map(rel))('%s', async (file) => {
      const v = await dryRun(kube, file);
      expect(v.rejections).toEqual([]);
      expect(v.warnings).toEqual([]);
      expect(v.accepted).toBeGreaterThan(0);
    });
  });

  describe('judges the broken fixtures as pinned', () => {
    test.each(fixtureFiles('bad').map(rel))('%s', async (file) => {
      const want = readExpectations(file);
      expect(
        want.argoLint !== 'ok' || want.kube !== 'ok',
        'a broken fixture must be rejected by at least one oracle',
      ).toBe(true);
      const v = await dryRun(kube, file);
      expect(v.rejections).toEqual(want.kube === 'ok' ? [] : want.kube);
    });
  });

  const goldens = goldenFiles().map(rel);
  if (goldens.length === 0) {
    test.skip('compiler goldens (none found yet under packages/compiler/test/golden or examples/*/golden)', () => {});
  } else {
    describe('accepts every compiler golden', () => {
      test.each(goldens)('%s', async (file) => {
        const v = await dryRun(kube, file);
        expect(v.rejections).toEqual([]);
        expect(v.warnings).toEqual([]);
      });
    });
  }
});
