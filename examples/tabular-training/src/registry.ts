/**
 * The model registry: a directory holding the promoted model (`model.json`), what it scored
 * (`current.json`), and an append-only log of every decision (`decisions.jsonl`).
 */
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface Promoted {
  readonly name: string;
  readonly accuracy: number;
  readonly runId: string;
  readonly at: string;
}

export interface Decision {
  readonly promoted: boolean;
  readonly name: string;
  readonly accuracy: number;
  readonly reason: string;
  readonly runId: string;
  readonly at: string;
}

/** The currently promoted model, or `undefined` when none was ever promoted. */
export function readPromoted(dir: string): Promoted | undefined {
  const file = join(resolve(dir), 'current.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Promoted) : undefined;
}

function writeAtomic(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/** Installs `modelFile` as the promoted model and records the decision. */
export function promote(dir: string, modelFile: string, p: Promoted): string {
  const d = resolve(dir);
  mkdirSync(d, { recursive: true });
  copyFileSync(modelFile, join(d, 'model.json.tmp'));
  renameSync(join(d, 'model.json.tmp'), join(d, 'model.json'));
  writeAtomic(join(d, 'current.json'), `${JSON.stringify(p, null, 2)}\n`);
  logDecision(d, { promoted: true, name: p.name, accuracy: p.accuracy, reason: 'beats the threshold and the promoted model', runId: p.runId, at: p.at });
  return join(d, 'model.json');
}

/** Why a candidate was not promoted, in words. */
export function rejectionReason(accuracy: number, minAccuracy: number, current: number): string {
  const reasons: string[] = [];
  if (!(accuracy >= minAccuracy)) reasons.push(`accuracy ${accuracy.toFixed(4)} is below the threshold ${minAccuracy}`);
  if (!(accuracy > current)) reasons.push(`accuracy ${accuracy.toFixed(4)} does not beat the promoted model's ${current.toFixed(4)}`);
  return reasons.join('; ') || 'no reason (the condition should have promoted it)';
}

export function logDecision(dir: string, d: Decision): void {
  mkdirSync(resolve(dir), { recursive: true });
  appendFileSync(join(resolve(dir), 'decisions.jsonl'), `${JSON.stringify(d)}\n`);
}
