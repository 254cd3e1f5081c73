import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The monorepo root (tools/test/support/../../..). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Argo's reference schemas and CRDs, shared beside the repo (absent in a fresh clone). */
export const sharedArgo = path.resolve(repoRoot, '../shared/argo');
/** Built by tools/setup.sh; git-ignored. */
export const binDir = path.join(repoRoot, 'tools/.bin');
export const fixturesDir = path.join(repoRoot, 'tools/test/fixtures');

export const setupHint = 'run `bash tools/setup.sh` to build it';

/**
 * Turns "why this oracle cannot run" into a skip, or, when SLUICE_ORACLES_REQUIRED=1 (CI,
 * which has Go), into a failure, so that a broken setup cannot pass as a skipped suite.
 */
export function skipReason(reason: string | undefined): string | undefined {
  if (reason !== undefined && process.env.SLUICE_ORACLES_REQUIRED === '1') {
    throw new Error(`SLUICE_ORACLES_REQUIRED=1 but an oracle cannot run: ${reason}`);
  }
  return reason;
}

/** Why an oracle cannot run here, or undefined when it can. */
export function missingGo(): string | undefined {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'Go is not installed (no `go` on PATH); the oracles are built from Go modules';
  }
}

export function missingBinary(name: string): string | undefined {
  const p = path.join(binDir, name);
  return existsSync(p) ? undefined : `${path.relative(repoRoot, p)} is missing: ${setupHint}`;
}

export function missingSharedArgo(): string | undefined {
  return existsSync(path.join(sharedArgo, 'crds'))
    ? undefined
    : `${sharedArgo} is absent (a fresh clone has no ../shared): no Argo CRDs to install`;
}

/** The version tools/setup.sh pinned for a binary family, e.g. 'argo' -> 'v4.0.5'. */
export function pinnedVersion(family: 'argo' | 'kube' | 'etcd' | 'kwok'): string {
  try {
    return readFileSync(path.join(binDir, `${family}-version`), 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

function walk(dir: string, out: string[]): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries.sort()) {
    if (e === 'node_modules' || e.startsWith('.')) continue;
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.ya?ml$/.test(e)) out.push(p);
  }
}

/**
 * Every golden manifest the compiler's tests and the examples pin, found at test time:
 * `packages/compiler/test/golden/**\/*.yaml` and `examples/*\/golden/*.yaml`.
 */
export function goldenFiles(): string[] {
  const out: string[] = [];
  walk(path.join(repoRoot, 'packages/compiler/test/golden'), out);
  const examples = path.join(repoRoot, 'examples');
  const names = existsSync(examples) ? readdirSync(examples).sort() : [];
  for (const ex of names) {
    const golden = path.join(examples, ex, 'golden');
    if (!existsSync(golden) || !statSync(golden).isDirectory()) continue;
    for (const f of readdirSync(golden).sort()) {
      if (/\.ya?ml$/.test(f)) out.push(path.join(golden, f));
    }
  }
  return out;
}

/** YAML manifests directly in a fixtures folder ('good' or 'bad'). */
export function fixtureFiles(kind: 'good' | 'bad'): string[] {
  const dir = path.join(fixturesDir, kind);
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * What a broken fixture expects of each oracle, from its leading comment lines:
 *   # argo-lint: <exact error line>      (repeatable; `ok` when argo-lint accepts it)
 *   # kube: <exact rejection message>    (`ok` when the API server accepts it)
 */
export interface Expectations {
  argoLint: string[] | 'ok';
  kube: string[] | 'ok';
}

export function readExpectations(file: string): Expectations {
  const argoLint: string[] = [];
  const kube: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('#')) break;
    const m = /^# (argo-lint|kube): (.*)$/.exec(line);
    if (!m) continue;
    (m[1] === 'argo-lint' ? argoLint : kube).push(m[2]!);
  }
  const norm = (xs: string[], oracle: string): string[] | 'ok' => {
    if (xs.length === 0) throw new Error(`${file}: no "# ${oracle}: ..." expectation line`);
    return xs.length === 1 && xs[0] === 'ok' ? 'ok' : xs;
  };
  return { argoLint: norm(argoLint, 'argo-lint'), kube: norm(kube, 'kube') };
}

export const rel = (p: string): string => path.relative(repoRoot, p);
