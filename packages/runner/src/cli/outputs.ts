import { join, relative, sep } from 'node:path';
import { isArtifactRef, type RuntimeValue } from '../engine/types.ts';

const MAX = 160;

/** A path relative to the working directory when it is below it, else absolute. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !rel.startsWith(sep) ? rel : path;
}

/**
 * A run's outputs as text, one per line: parameter values (strings as they are, others as JSON, long ones cut), artifacts as type, content hash
 * (a prefix `sluice lineage` accepts) and local path in the artifact store. With `artifactsRoot`,
 * paths are those of that store (a store that was moved), not the recorded ones.
 */
export function formatOutputs(outputs: { readonly [name: string]: RuntimeValue }, artifactsRoot?: string): string {
  const names = Object.keys(outputs).sort();
  if (!names.length) return '';
  const w = Math.max(...names.map((n) => n.length));
  const lines: string[] = [];
  for (const name of names) {
    const v = outputs[name] as RuntimeValue;
    const arts = isArtifactRef(v) ? [v] : Array.isArray(v) && v.length && v.every(isArtifactRef) ? v : undefined;
    if (!arts) {
      const text = typeof v === 'string' ? v : JSON.stringify(v);
      lines.push(`  ${name.padEnd(w)}  ${text.length > MAX ? `${text.slice(0, MAX)}… (${text.length} characters; all of it in --json)` : text}`);
      continue;
    }
    arts.forEach((a, i) => {
      const path = artifactsRoot ? join(artifactsRoot, 'sha256', a.hash.slice(0, 2), a.hash) : a.path;
      lines.push(`  ${(i === 0 ? name : '').padEnd(w)}  ${a.type}  sha256:${a.hash.slice(0, 16)}  ${shown(path)}`);
    });
  }
  return `outputs\n${lines.join('\n')}\n`;
}
