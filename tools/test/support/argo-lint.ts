import { execFile } from 'node:child_process';
import path from 'node:path';
import { binDir, repoRoot } from './paths.ts';

export interface LintVerdict {
  /** False when the file held no Workflow, WorkflowTemplate, CronWorkflow or ClusterWorkflowTemplate. */
  linted: boolean;
  /** One line per failing object, as `argo lint` prints them: `in "name" (Kind): message`. */
  errors: string[];
  /** The oracle's own log (stderr), e.g. YAML it could not parse. */
  stderr: string;
}

interface JsonResult {
  file: string;
  linted: boolean;
  errors: string[];
}

/**
 * Lints one file (all its YAML documents) with tools/.bin/argo-lint, Argo's offline, strict
 * lint. templateRef and workflowTemplateRef resolve only against templates in the same file.
 */
export function argoLint(file: string): Promise<LintVerdict> {
  return new Promise((resolve, reject) => {
    execFile(
      path.join(binDir, 'argo-lint'),
      ['-o', 'json', path.resolve(repoRoot, file)],
      { cwd: repoRoot, maxBuffer: 64 << 20, timeout: 60_000 },
      (err, stdout, stderr) => {
        // Exit 1 means "lint errors found"; anything else is the oracle failing.
        const code = err && 'code' in err ? err.code : 0;
        if (code !== 0 && code !== 1) {
          reject(new Error(`argo-lint failed (exit ${String(code)}) on ${file}:\n${stderr}`));
          return;
        }
        let results: JsonResult[];
        try {
          results = JSON.parse(stdout) as JsonResult[];
        } catch {
          reject(new Error(`argo-lint printed no JSON for ${file}:\n${stdout}\n${stderr}`));
          return;
        }
        resolve({
          linted: results.some((r) => r.linted),
          errors: results.flatMap((r) => r.errors),
          stderr,
        });
      },
    );
  });
}
