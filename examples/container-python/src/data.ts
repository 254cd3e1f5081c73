/** Loading and checking the CSV handed to the Python step, and using the line it fits. */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute paths and paths that exist from the working directory are taken as given; otherwise
 * the path is read relative to this example's directory.
 */
export function resolveDataPath(path: string): string {
  if (isAbsolute(path) || existsSync(path)) return resolve(path);
  return fileURLToPath(new URL(`../${path}`, import.meta.url));
}

/** Checks that `columns` exist and every value in them is a finite number; returns the row count. */
export function checkNumericCsv(text: string, columns: readonly string[]): number {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(',').map((h) => h.trim());
  const idx = columns.map((c) => {
    const i = header.indexOf(c);
    if (i < 0) throw new Error(`column "${c}" is missing; the file has ${header.join(',') || 'no header'}`);
    return i;
  });
  for (let n = 1; n < lines.length; n++) {
    const cells = lines[n]!.split(',');
    idx.forEach((i, k) => {
      if (!Number.isFinite(Number(cells[i] ?? ''))) throw new Error(`line ${n + 1}: ${columns[k]} is ${JSON.stringify(cells[i] ?? '')}, expected a number`);
    });
  }
  if (lines.length < 6) throw new Error(`expected at least 5 rows, got ${lines.length - 1}`);
  return lines.length - 1;
}

/** The model `fit_line.py` writes. */
export interface Line {
  readonly kind: 'line';
  readonly x: string;
  readonly y: string;
  readonly slope: number;
  readonly intercept: number;
}

export function predictLine(m: Line, x: number): number {
  return m.slope * x + m.intercept;
}
