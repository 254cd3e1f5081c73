/**
 * `sluice compile`'s source analysis reads each project file's imports and doc comments (a scan of
 * the text, or ts-morph for JSX): the same facts for the same bytes. They are kept in the user
 * cache directory (`source-facts.json`), each under the file's stamp (size, mtime, ctime) and the
 * analysis' own files' stamps, so a repeated compile of unchanged files reads none of them again.
 * A file written in the last second is not kept (it may change again within its mtime). Errors
 * reading or writing the cache, and kept facts of another shape, leave the analysis as it would be
 * without it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sluiceCacheDir, stamp, stampMtimeMs } from '@sluice/executor/graph-load';
import { writeCacheFile } from '@sluice/executor/paths';
import type { moduleFacts } from '@sluice/compiler/source';

type Facts = ReturnType<typeof moduleFacts>;
interface Kept { readonly stamp: string; readonly facts: Facts; readonly usedAt: number }
interface CacheFile { readonly version: 1; readonly tool: string; readonly entries: { readonly [path: string]: Kept } }

const MAX_ENTRIES = 512;

/** The analysis' own code (`@sluice/compiler/source` and the scanner beside it), by stamp: new code reads every file again. */
function toolStamp(): string {
  const source = fileURLToPath(import.meta.resolve('@sluice/compiler/source'));
  const ext = source.endsWith('.ts') ? '.ts' : '.js';
  return [source, join(dirname(source), `source-scan${ext}`), join(dirname(source), `source-tsmorph${ext}`)].map((f) => stamp(f).slice(1).join(':')).join(';');
}

const isString = (x: unknown): x is string => typeof x === 'string';
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Whether kept facts have the shape the analysis reads (a damaged or foreign cache entry is read again, never trusted). */
function wellFormed(f: unknown): f is Facts {
  if (!isObject(f) || !Array.isArray(f.imports) || !isObject(f.sdkImports) || !Array.isArray(f.definitions)) return false;
  return f.imports.every((i) => isObject(i) && isString(i.spec) && Number.isInteger(i.line))
    && Object.values(f.sdkImports).every(isString)
    && f.definitions.every((d) => isObject(d) && isString(d.callee) && isString(d.name) && (d.comment === undefined || isString(d.comment)));
}

/**
 * A reader for `analyzeSource`'s `read` option that answers from the cache what `read` answered
 * before for the same file bytes, and `save`, which records what was read anew.
 *
 * @example
 * const facts = cachedFacts(moduleFacts);
 * const report = analyzeSource(file, { read: facts.read });
 * facts.save();
 */
export function cachedFacts(read: (path: string) => Facts, file = join(sluiceCacheDir(), 'source-facts.json'), nowMs = Date.now()): { read: (path: string) => Facts; save: () => void } {
  let tool: string;
  try { tool = toolStamp(); } catch { return { read, save: () => {} }; }
  let kept: { [path: string]: Kept } = {};
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
    if (c.version === 1 && c.tool === tool && c.entries && typeof c.entries === 'object') kept = { ...c.entries };
  } catch { /* none yet, or unreadable: start again */ }
  let changed = false;
  return {
    read(path) {
      const s = stamp(path);
      const key = s.slice(1).join(':');
      const hit = kept[path];
      if (hit && hit.stamp === key && wellFormed(hit.facts)) {
        kept[path] = { ...hit, usedAt: nowMs };
        return hit.facts;
      }
      const facts = read(path);
      if (s[1] >= 0 && stampMtimeMs(s) < nowMs - 1000) {
        kept[path] = { stamp: key, facts, usedAt: nowMs };
        changed = true;
      }
      return facts;
    },
    save() {
      if (!changed) return;
      const entries = Object.entries(kept).sort((a, b) => b[1].usedAt - a[1].usedAt).slice(0, MAX_ENTRIES);
      const out: CacheFile = { version: 1, tool, entries: Object.fromEntries(entries) };
      try { writeCacheFile(file, JSON.stringify(out)); } catch { /* not kept: the next compile reads the files again */ }
    },
  };
}
