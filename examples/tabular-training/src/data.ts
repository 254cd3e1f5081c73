/** Loading, validating and splitting the iris CSV. Pure functions: no runner needed to test them. */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

export const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
export const SPECIES = ['setosa', 'versicolor', 'virginica'] as const;
export type Species = (typeof SPECIES)[number];

export interface Row {
  readonly features: readonly number[];
  readonly label: number;
}

/** A measurement in centimetres: present, a number, and physically plausible. */
const cm = z.coerce.number({ error: 'not a number' }).finite().gt(0, 'must be > 0 cm').lte(30, 'must be <= 30 cm');

/** One CSV record: four measurements and a known species. */
export const RowSchema = z.object({
  sepal_length: cm,
  sepal_width: cm,
  petal_length: cm,
  petal_width: cm,
  species: z.enum(SPECIES, { error: (i) => `unknown species ${JSON.stringify(i.input)}` }),
});

export interface RowIssue {
  /** 1-based line in the file (the header is line 1). */
  readonly line: number;
  readonly field: string;
  readonly message: string;
}

export type Validated = { ok: true; rows: Row[] } | { ok: false; issues: RowIssue[] };

/**
 * Parses and validates the CSV text. Every bad row is reported (line, field, reason); the
 * header must hold exactly the expected columns; at least `minRows` rows and every species.
 */
export function validateCsv(text: string, minRows = 30): Validated {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const expected = [...FEATURES, 'species'];
  if (header.join(',') !== expected.join(',')) {
    return { ok: false, issues: [{ line: 1, field: 'header', message: `expected columns ${expected.join(',')}, got ${header.join(',') || '(empty)'}` }] };
  }
  const issues: RowIssue[] = [];
  const rows: Row[] = [];
  for (let i = 1; i < lines.length; i++) {
    const cells = lines[i]!.split(',').map((c) => c.trim());
    if (cells.length !== expected.length) {
      issues.push({ line: i + 1, field: 'row', message: `expected ${expected.length} values, got ${cells.length}` });
      continue;
    }
    const record = Object.fromEntries(expected.map((k, j) => [k, cells[j] === '' ? undefined : cells[j]]));
    const r = RowSchema.safeParse(record);
    if (!r.success) {
      for (const issue of r.error.issues) issues.push({ line: i + 1, field: String(issue.path[0] ?? 'row'), message: issue.message });
      continue;
    }
    rows.push({ features: FEATURES.map((f) => r.data[f]), label: SPECIES.indexOf(r.data.species) });
  }
  if (issues.length === 0) {
    if (rows.length < minRows) issues.push({ line: lines.length, field: 'rows', message: `expected at least ${minRows} rows, got ${rows.length}` });
    for (const [k, s] of SPECIES.entries()) {
      if (!rows.some((r) => r.label === k)) issues.push({ line: lines.length, field: 'species', message: `no rows of species ${s}` });
    }
  }
  return issues.length ? { ok: false, issues } : { ok: true, rows };
}

/** One line per issue, at most `max` lines: `line 7, petal_width: must be > 0 cm`. */
export function formatRowIssues(issues: readonly RowIssue[], max = 10): string {
  const shown = issues.slice(0, max).map((i) => `line ${i.line}, ${i.field}: ${i.message}`);
  if (issues.length > max) shown.push(`... and ${issues.length - max} more`);
  return shown.join('\n');
}

/** Rows as CSV with the same header as the source. */
export function toCsv(rows: readonly Row[]): string {
  const lines = [[...FEATURES, 'species'].join(',')];
  for (const r of rows) lines.push([...r.features, SPECIES[r.label]].join(','));
  return `${lines.join('\n')}\n`;
}

/** A small seeded PRNG (mulberry32): same seed, same split, on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stratified split: `testFraction` of each class goes to test, chosen by a seeded shuffle. */
export function split(rows: readonly Row[], testFraction: number, seed: number): { train: Row[]; test: Row[] } {
  const random = rng(seed);
  const train: Row[] = [];
  const test: Row[] = [];
  const labels = [...new Set(rows.map((r) => r.label))].sort((a, b) => a - b);
  for (const label of labels) {
    const group = rows.filter((r) => r.label === label);
    for (let i = group.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [group[i], group[j]] = [group[j]!, group[i]!];
    }
    const nTest = Math.round(group.length * testFraction);
    test.push(...group.slice(0, nTest));
    train.push(...group.slice(nTest));
  }
  return { train, test };
}

/**
 * Where a data path points: absolute paths and paths that exist from the working directory are
 * taken as given; otherwise the path is read relative to this example's directory, so the
 * default `data/iris.csv` works from the repository root and from the example's folder.
 */
export function resolveDataPath(path: string): string {
  if (isAbsolute(path) || existsSync(path)) return resolve(path);
  return fileURLToPath(new URL(`../${path}`, import.meta.url));
}
