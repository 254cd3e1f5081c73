/**
 * `sluice compile` keeps each file's source facts under its stamp (cli/source-facts.ts): the
 * analysis with the cache reports what it reports without, reads no unchanged file again, and
 * reads again exactly the file that changed; a file written in the last second is not kept.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeSource, moduleFacts } from '@sluice/compiler/source';
import { cachedFacts } from '../src/cli/source-facts.ts';

const cacheDir = mkdtempSync(join(tmpdir(), 'sluice-facts-'));
const project = mkdtempSync(join(tmpdir(), 'sluice-facts-project-'));
afterAll(() => {
  rmSync(cacheDir, { recursive: true, force: true });
  rmSync(project, { recursive: true, force: true });
});
const examples = join(import.meta.dirname, '..', '..', '..', 'examples');

/** A reader that counts what it reads. */
function counting(): { read: typeof moduleFacts; seen: string[] } {
  const seen: string[] = [];
  return { seen, read: (p) => { seen.push(p); return moduleFacts(p); } };
}
function put(rel: string, text: string, agoMs = 60_000): void {
  writeFileSync(join(project, rel), text);
  const t = new Date(Date.now() - agoMs);
  utimesSync(join(project, rel), t, t);
}

describe('source facts kept under their stamps', () => {
  it('the analysis of every example is the same with the cache, and a repeat reads no file', () => {
    const file = join(cacheDir, 'examples.json');
    const entries = readdirSync(examples, { withFileTypes: true }).filter((d) => d.isDirectory() && d.name !== 'goldens')
      .flatMap((d) => readdirSync(join(examples, d.name)).filter((f) => f.endsWith('.ts')).map((f) => join(examples, d.name, f)));
    expect(entries.length).toBeGreaterThanOrEqual(5);
    let readFirst = 0;
    for (const entry of entries) {
      const plain = analyzeSource(entry);
      const first = counting();
      const a = cachedFacts(first.read, file);
      expect(analyzeSource(entry, { read: a.read })).toStrictEqual(plain);
      a.save();
      readFirst += first.seen.length;
      const again = counting();
      const b = cachedFacts(again.read, file);
      expect(analyzeSource(entry, { read: b.read })).toStrictEqual(plain);
      expect(again.seen).toEqual([]);
    }
    expect(readFirst).toBeGreaterThan(entries.length);
  });

  it('reads again the file that changed, and does not keep one written in the last second', () => {
    const file = join(cacheDir, 'project.json');
    put('package.json', JSON.stringify({ name: 'facts', private: true, type: 'module', dependencies: { zod: '*' } }));
    put('pipeline.ts', "import { helper } from './helper.ts';\nexport default helper;\n");
    put('helper.ts', "/** Helps. */\nexport const helper = 1;\n");
    const entry = join(project, 'pipeline.ts');
    const one = counting();
    const c1 = cachedFacts(one.read, file);
    analyzeSource(entry, { read: c1.read });
    c1.save();
    expect(one.seen.sort()).toEqual([join(project, 'helper.ts'), entry]);

    put('helper.ts', "import { z } from 'zod';\nexport const helper = z;\n");
    const two = counting();
    const c2 = cachedFacts(two.read, file);
    expect(analyzeSource(entry, { read: c2.read }).packages).toEqual(['zod']);
    c2.save();
    expect(two.seen).toEqual([join(project, 'helper.ts')]);

    // written just now: read, and read again next time (its mtime may not show the next change)
    put('helper.ts', 'export const helper = 2;\n', 0);
    for (let i = 0; i < 2; i++) {
      const fresh = counting();
      const c = cachedFacts(fresh.read, file);
      expect(analyzeSource(entry, { read: c.read }).packages).toEqual([]);
      c.save();
      expect(fresh.seen).toEqual([join(project, 'helper.ts')]);
    }
  });

  it('an entry whose facts are damaged (the stamp still matching) is read again, not trusted', () => {
    const file = join(cacheDir, 'damaged.json');
    put('package.json', JSON.stringify({ name: 'facts', private: true, type: 'module' }));
    put('pipeline.ts', "import { helper } from './helper.ts';\nexport default helper;\n");
    put('helper.ts', "/** Helps. */\nexport const helper = 1;\n");
    const entry = join(project, 'pipeline.ts');
    const plain = analyzeSource(entry);
    const c1 = cachedFacts(moduleFacts, file);
    analyzeSource(entry, { read: c1.read });
    c1.save();
    const kept = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, { facts: unknown }> };
    const damaged = [{ imports: 'bad' }, { imports: [{ spec: 1, line: 1 }], sdkImports: {}, definitions: [] }, null, { imports: [], sdkImports: { a: 2 }, definitions: [] }, { imports: [], sdkImports: {}, definitions: [{ callee: 'component' }] }];
    for (const facts of damaged) {
      kept.entries[entry]!.facts = facts;
      writeFileSync(file, JSON.stringify(kept));
      const again = counting();
      const c = cachedFacts(again.read, file);
      expect(analyzeSource(entry, { read: c.read })).toStrictEqual(plain);
      expect(again.seen).toEqual([entry]);
    }
  });
});
