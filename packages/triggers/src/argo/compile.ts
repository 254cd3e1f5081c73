/**
 * Triggers -> one YAML stream of Argo objects (`sluice triggers compile`): compiles each target
 * pipeline (and each upstream pipeline given) to the compiler's WorkflowTemplate, emits the
 * triggers' objects against them, and writes nothing when there is any issue.
 */
import { relative, resolve } from 'node:path';
import { stringify } from 'yaml';
import { compile } from '@sluice/compiler';
import { toIR, type Pipeline, type SluiceIssue } from '@sluice/sdk';
import type { Trigger } from '../define.ts';
import { emitTriggers, type ArgoObject, type EmitOptions } from './emit.ts';

export interface CompileTriggersOptions {
  readonly namespace: string;
  /** Image with the `sluice` command (the gate step). */
  readonly image: string;
  /** Image of the pipelines' function steps; overrides their `image` option. */
  readonly pipelineImage?: string;
  /** Pipelines whose runs upstream triggers wait for, with the file each is imported from. */
  readonly upstream?: readonly { readonly pipeline: Pipeline<any, any>; readonly entry: string; readonly exportName?: string }[];
  /** Prometheus for metric monitors, and the S3 store for drift monitors and artifact parameters (see {@link EmitOptions}). */
  readonly prometheus?: string;
  readonly s3?: EmitOptions['s3'];
  /** Entries are written relative to this directory (the image's working directory holds the same tree). @default the working directory */
  readonly root?: string;
}

/**
 * Compiles triggers and their pipelines to Argo objects, or says why not.
 *
 * @example
 * const r = compileTriggers(await loadTriggers('triggers.ts'), { namespace: 'ml', image: 'ghcr.io/acme/sluice:1' });
 * if (!r.issues.length) writeFileSync('triggers.yaml', r.yaml);
 */
export function compileTriggers(triggers: readonly Trigger[], o: CompileTriggersOptions): { objects: readonly ArgoObject[]; issues: readonly SluiceIssue[]; yaml: string } {
  const root = resolve(o.root ?? '.');
  const issues: SluiceIssue[] = [];
  const templates: { [pipeline: string]: ArgoObject } = {};
  const tried = new Set<string>();
  const add = (p: Pipeline<any, any>, entry: string | undefined, exportName: string | undefined, path: string) => {
    const ir = toIR(p);
    if (tried.has(ir.name)) return;
    tried.add(ir.name);
    if (!entry) { issues.push({ code: 'compile.entry', path, message: `the target ${ir.name} has no entry: give the trigger entry: '<pipeline file>' (the file the pod imports it from)` }); return; }
    try {
      const r = compile(ir, { entry: relative(root, resolve(root, entry)), kind: 'template', ...(exportName ? { exportName } : {}), ...(o.pipelineImage ? { image: o.pipelineImage } : {}), namespace: o.namespace });
      templates[ir.name] = r.objects[0] as ArgoObject;
    } catch (e) {
      const found = (e as { issues?: SluiceIssue[] }).issues;
      if (found) issues.push(...found);
      else throw e;
    }
  };
  for (const t of [...triggers].sort((a, b) => a.ir.name.localeCompare(b.ir.name))) add(t.pipeline, t.ir.target.entry, t.ir.target.exportName, `${t.ir.name}/target`);
  for (const u of o.upstream ?? []) add(u.pipeline, u.entry, u.exportName, `upstream/${u.pipeline.pipelineName}`);
  if (issues.length) return { objects: [], issues, yaml: '' };
  const r = emitTriggers(triggers.map((t) => t.ir), { namespace: o.namespace, image: o.image, templates, ...(o.prometheus ? { prometheus: o.prometheus } : {}), ...(o.s3 ? { s3: o.s3 } : {}) });
  if (r.issues.length) return { objects: [], issues: r.issues, yaml: '' };
  // the pipelines' own templates, unless the emitter returned one already (an upstream pipeline with its exit hook)
  const emitted = new Set(r.objects.filter((x) => x.kind === 'WorkflowTemplate').map((x) => (x.metadata as { name: string }).name));
  const objects = [...r.objects, ...Object.keys(templates).sort().map((k) => templates[k]!).filter((x) => !emitted.has((x.metadata as { name: string }).name))];
  return { objects, issues: [], yaml: objects.map((x) => stringify(x, { lineWidth: 0 })).join('---\n') };
}
