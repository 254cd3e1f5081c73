/**
 * Test oracles for emitted manifests: the Argo JSON Schema (Ajv 2020), the full CRD
 * openAPIV3Schema of each kind (plain Ajv), and a reference-integrity check of our own (the
 * schemas cannot see whether `{{...}}` references and DAG dependencies resolve).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../../..');
export const sharedArgo = path.resolve(repoRoot, '../shared/argo');
export const haveSchemas = existsSync(path.join(sharedArgo, 'workflows.schema.json'));
export const skipReason = `Argo schemas not found at ${sharedArgo}: schema checks skipped`;

type AjvLike = { addFormat(name: string, f: true): unknown; addSchema(s: object): unknown; compile(s: object): ValidateFunction };
const AjvCtor = (Ajv as unknown as { default?: unknown }).default ?? Ajv;
const Ajv2020Ctor = (Ajv2020 as unknown as { default?: unknown }).default ?? Ajv2020;

function formats(a: AjvLike): AjvLike {
  for (const f of ['int32', 'int64', 'byte', 'date-time', 'double', 'float']) a.addFormat(f, true);
  return a;
}

const KIND_FILE: Record<string, string> = { Workflow: 'crd-workflows.json', WorkflowTemplate: 'crd-workflowtemplates.json', CronWorkflow: 'crd-cronworkflows.json' };
const cache = new Map<string, ValidateFunction>();
let jsonSchemaAjv: AjvLike | undefined;

function jsonSchemaValidator(kind: string): ValidateFunction {
  const key = `json:${kind}`;
  let v = cache.get(key);
  if (!v) {
    if (!jsonSchemaAjv) {
      jsonSchemaAjv = formats(new (Ajv2020Ctor as new (o: object) => AjvLike)({ strict: false, allErrors: true }));
      const schema = JSON.parse(readFileSync(path.join(sharedArgo, 'workflows.schema.json'), 'utf8'));
      jsonSchemaAjv.addSchema(schema);
    }
    v = jsonSchemaAjv.compile({ $ref: `https://raw.githubusercontent.com/argoproj/argo-workflows/HEAD/api/jsonschema/schema.json#/definitions/io.argoproj.workflow.v1alpha1.${kind}` });
    cache.set(key, v);
  }
  return v;
}

function crdValidator(kind: string): ValidateFunction {
  const key = `crd:${kind}`;
  let v = cache.get(key);
  if (!v) {
    const file = KIND_FILE[kind];
    if (!file) throw new Error(`no CRD schema for kind ${kind}`);
    const crd = JSON.parse(readFileSync(path.join(sharedArgo, file), 'utf8'));
    const a = formats(new (AjvCtor as new (o: object) => AjvLike)({ strict: false, allErrors: true }));
    v = a.compile(crd.openAPIV3Schema);
    cache.set(key, v);
  }
  return v;
}

/** Schema errors of one manifest against both oracles (empty when valid). */
export function schemaErrors(obj: { kind?: unknown }): string[] {
  const kind = String(obj.kind);
  // JSON round trip: the validators must see exactly what would be stored.
  const data = JSON.parse(JSON.stringify(obj));
  const out: string[] = [];
  for (const [label, v] of [['json-schema', jsonSchemaValidator(kind)], ['crd', crdValidator(kind)]] as const) {
    if (!v(data)) for (const e of (v.errors ?? []).slice(0, 10)) out.push(`${label}: ${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
  }
  return out;
}

type Obj = { [k: string]: unknown };

/**
 * Reference integrity: every DAG task's template exists; every dependency names a task of the same
 * DAG; every `{{inputs.parameters.x}}`/`{{inputs.artifacts.x}}` names an input of its template;
 * every `{{tasks.t.outputs.parameters.x}}` names a sibling task whose template has that output;
 * every `{{workflow.parameters.x}}` names a workflow argument; template names are unique. A task's
 * `templateRef` must name a WorkflowTemplate among `others` (the other objects of the same
 * compile) holding that template.
 */
export function referenceErrors(obj: Obj, others: readonly Obj[] = []): string[] {
  const spec = (obj.kind === 'CronWorkflow' ? (obj.spec as Obj).workflowSpec : obj.spec) as Obj;
  const templates = spec.templates as Obj[];
  const errors: string[] = [];
  const byName = new Map<string, Obj>();
  for (const t of templates) {
    if (byName.has(t.name as string)) errors.push(`duplicate template ${String(t.name)}`);
    byName.set(t.name as string, t);
  }
  const wfParams = new Set(((spec.arguments as Obj | undefined)?.parameters as Obj[] | undefined ?? []).map((p) => p.name as string));
  for (const entry of [spec.entrypoint, spec.onExit]) if (entry !== undefined && !byName.has(entry as string)) errors.push(`missing template ${String(entry)}`);
  const names = (list: unknown) => new Set(((list as Obj[] | undefined) ?? []).map((x) => x.name as string));
  const outputsOf = (t: Obj | undefined) => ({ parameters: names((t?.outputs as Obj | undefined)?.parameters), artifacts: names((t?.outputs as Obj | undefined)?.artifacts) });
  const calleeOf = (task: Obj | undefined): Obj | undefined => {
    const ref = task?.templateRef as { name?: string; template?: string } | undefined;
    if (!ref) return byName.get(task?.template as string);
    const lib = others.find((o) => o.kind === 'WorkflowTemplate' && (o.metadata as Obj).name === ref.name);
    return ((lib?.spec as Obj | undefined)?.templates as Obj[] | undefined)?.find((t) => t.name === ref.template);
  };
  const calleeName = (task: Obj): string => task.templateRef ? `${String((task.templateRef as Obj).name)}/${String((task.templateRef as Obj).template)}` : String(task.template);

  const strings = (v: unknown, into: string[]): void => {
    if (typeof v === 'string') into.push(v);
    else if (Array.isArray(v)) for (const x of v) strings(x, into);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) strings(x, into);
  };
  for (const t of templates) {
    const where = `template ${String(t.name)}`;
    const inputs = { parameters: names((t.inputs as Obj | undefined)?.parameters), artifacts: names((t.inputs as Obj | undefined)?.artifacts) };
    const tasks = ((t.dag as Obj | undefined)?.tasks as Obj[] | undefined) ?? [];
    const taskNames = new Map(tasks.map((x) => [x.name as string, x]));
    if (taskNames.size !== tasks.length) errors.push(`${where}: duplicate task names`);
    for (const task of tasks) {
      if (!calleeOf(task)) errors.push(`${where}/${String(task.name)}: missing template ${calleeName(task)}`);
      const deps = typeof task.depends === 'string' ? task.depends.split(' && ') : [];
      for (const d of deps) if (!taskNames.has(d)) errors.push(`${where}/${String(task.name)}: depends on unknown task ${d}`);
      // Arguments must match the called template's inputs.
      const callee = calleeOf(task);
      const calleeInputs = (callee?.inputs as Obj | undefined) ?? {};
      const args = (task.arguments as Obj | undefined) ?? {};
      for (const field of ['parameters', 'artifacts'] as const) {
        const given = names(args[field]);
        for (const g of given) if (!names(calleeInputs[field]).has(g)) errors.push(`${where}/${String(task.name)}: passes unknown ${field} ${g} to ${String(task.template)}`);
        for (const p of (calleeInputs[field] as Obj[] | undefined) ?? []) {
          if (!given.has(p.name as string) && p.default === undefined && p.value === undefined && !p.raw && !p.optional) errors.push(`${where}/${String(task.name)}: does not pass ${field} ${String(p.name)} to ${String(task.template)}`);
        }
      }
      const texts: string[] = [];
      strings(task, texts);
      for (const s of texts) {
        for (const m of s.matchAll(/\{\{tasks\.([^.}]+)\.outputs\.(parameters|artifacts)\.([^}]+)\}\}|tasks\['([^']+)'\]\.outputs\.(parameters|artifacts)\['([^']+)'\]/g)) {
          const [tn, field, out] = m[1] ? [m[1], m[2]!, m[3]!] : [m[4]!, m[5]!, m[6]!];
          const producer = taskNames.get(tn);
          if (!producer) { errors.push(`${where}/${String(task.name)}: refers to unknown task ${tn}`); continue; }
          const producerDeps = new Set<string>();
          const walk = (n: string) => { for (const d of typeof taskNames.get(n)?.depends === 'string' ? (taskNames.get(n)!.depends as string).split(' && ') : []) if (!producerDeps.has(d)) { producerDeps.add(d); walk(d); } };
          walk(task.name as string);
          if (!producerDeps.has(tn)) errors.push(`${where}/${String(task.name)}: uses ${tn} without depending on it`);
          if (!outputsOf(calleeOf(producer))[field as 'parameters'].has(out)) errors.push(`${where}/${String(task.name)}: ${tn} has no output ${field}.${out}`);
        }
        checkInputsAndWorkflow(s, inputs, wfParams, `${where}/${String(task.name)}`, errors);
      }
    }
    // Leaf and output references to the template's own inputs.
    const rest: string[] = [];
    strings({ container: t.container, outputs: t.outputs, memoize: t.memoize, inputs: t.inputs }, rest);
    for (const s of rest) checkInputsAndWorkflow(s, inputs, wfParams, where, errors);
    for (const s of rest) {
      for (const m of s.matchAll(/\{\{tasks\.([^.}]+)\.outputs\.(parameters|artifacts)\.([^}]+)\}\}/g)) {
        const producer = taskNames.get(m[1]!);
        if (!producer) errors.push(`${where}: output refers to unknown task ${m[1]}`);
        else if (!outputsOf(calleeOf(producer))[m[2] as 'parameters'].has(m[3]!)) errors.push(`${where}: ${m[1]} has no output ${m[2]}.${m[3]}`);
      }
    }
  }
  return errors;
}

function checkInputsAndWorkflow(s: string, inputs: { parameters: Set<string>; artifacts: Set<string> }, wf: Set<string>, where: string, errors: string[]): void {
  for (const m of s.matchAll(/\{\{inputs\.(parameters|artifacts)\.([^}.]+)\}\}|inputs\.(parameters|artifacts)\['([^']+)'\]/g)) {
    const [field, name] = m[1] ? [m[1], m[2]!] : [m[3]!, m[4]!];
    if (!inputs[field as 'parameters'].has(name)) errors.push(`${where}: unknown input ${field}.${name}`);
  }
  for (const m of s.matchAll(/\{\{workflow\.parameters\.([^}]+)\}\}|workflow\.parameters\['([^']+)'\]/g)) {
    const name = m[1] ?? m[2]!;
    if (!wf.has(name)) errors.push(`${where}: unknown workflow parameter ${name}`);
  }
}
