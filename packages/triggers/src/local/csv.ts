/** Reading feature columns from CSV files for local drift checks (header row; comma-separated; no quoting of commas). */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** One table from CSV texts with the same header (files of a directory, objects under a prefix), in the order given. */
export function parseCsv(texts: readonly { readonly name: string; readonly text: string }[]): Table {
  let header: string[] | undefined;
  const rows: string[][] = [];
  for (const { name, text } of texts) {
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length === 0) continue;
    const h = lines[0]!.split(',').map((s) => s.trim());
    if (header && h.join(',') !== header.join(',')) throw new Error(`${name}: header ${h.join(',')} differs from ${header.join(',')}`);
    header = h;
    for (let i = 1; i < lines.length; i++) rows.push(lines[i]!.split(',').map((s) => s.trim()));
  }
  return { header: header ?? [], rows };
}

export function readCsv(path: string): Table {
  const files = statSync(path).isDirectory() ? readdirSync(path).filter((f) => f.endsWith('.csv')).sort().map((f) => join(path, f)) : [path];
  return parseCsv(files.map((f) => ({ name: f, text: readFileSync(f, 'utf8') })));
}

/** Columns by name: numbers for numeric features (NaN when not a number), strings for categorical ones. */
export function columns(t: Table, features: readonly { readonly name: string; readonly kind: 'numeric' | 'categorical' }[], rows: readonly (readonly string[])[] = t.rows): { [name: string]: Float64Array | string[] } {
  const out: { [name: string]: Float64Array | string[] } = {};
  for (const f of features) {
    const i = t.header.indexOf(f.name);
    if (i < 0) throw new Error(`no column "${f.name}" (columns: ${t.header.join(', ')})`);
    out[f.name] = f.kind === 'numeric' ? Float64Array.from(rows, (r) => { const s = r[i]; return s === undefined || s === '' ? NaN : Number(s); }) : rows.map((r) => r[i] ?? '');
  }
  return out;
}
