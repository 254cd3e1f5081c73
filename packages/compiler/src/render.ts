/**
 * Render pass (internal): L-form DAGs -> Argo DAG templates. Each reference is resolved where it is
 * used: a task of the same DAG (`{{tasks.x.outputs...}}`), an output a sub-DAG exports for it, a
 * workflow parameter, or else an input of the DAG template, which its caller then resolves in turn.
 */
import type { JsonValue, SluiceIssue } from '@sluice/sdk';
import { argoParamName, dnsLabel } from './names.ts';
import type { ArgVal, LDag, LTask, Operand, PredL, Ref } from './lower.ts';
import type { ArgoObject } from './templates.ts';
import type { YamlValue } from './yaml.ts';

type Field = 'parameters' | 'artifacts';
type Resolved =
  | { readonly t: 'task'; readonly task: string; readonly field: Field; readonly name: string }
  | { readonly t: 'input'; readonly field: Field; readonly name: string }
  | { readonly t: 'wf'; readonly name: string }
  | { readonly t: 'status' }
  | { readonly t: 'oneOf'; readonly branches: readonly { readonly task: string; readonly value: Resolved }[] };

export interface RenderContext {
  /** DAG templates in output order. */
  readonly templates: ArgoObject[];
  readonly issues: SluiceIssue[];
}

export interface ClosedScope {
  /** Root pipeline or exit handler: parameters are `workflow.parameters`. */
  readonly root: boolean;
  /** Declared inputs (nested pipeline components), in order. */
  readonly inputs?: { readonly parameters: readonly ArgoObject[]; readonly artifacts: readonly ArgoObject[] };
  /** Outputs get a `globalName` (pipeline outputs). */
  readonly global?: boolean;
  /** Template annotations (e.g. Argo's node display name). */
  readonly annotations?: { readonly [key: string]: string };
}

/** The input/export name a reference travels under between DAG templates. */
export function refKey(r: Ref): string {
  switch (r.k) {
    case 'out': return argoParamName(`${r.task}-${r.output}`);
    case 'param': return argoParamName(r.name);
    case 'item': return argoParamName(['item', r.loop, ...r.path].join('-'));
    case 'oneOf': return argoParamName(`${r.condition}-${r.options.map((o) => `${o.task}-${o.output}`).join('-')}`);
    case 'status': return 'status';
  }
}

function isArt(r: Ref): boolean {
  return (r.k === 'out' || r.k === 'param' || r.k === 'oneOf') && r.art;
}

function tag(r: Resolved): string {
  switch (r.t) {
    case 'task': return `{{tasks.${r.task}.outputs.${r.field}.${r.name}}}`;
    case 'input': return `{{inputs.${r.field}.${r.name}}}`;
    case 'wf': return `{{workflow.parameters.${r.name}}}`;
    case 'status': return '{{workflow.status}}';
    case 'oneOf': return `{{=${expr(r)}}}`;
  }
}

function expr(r: Resolved): string {
  switch (r.t) {
    case 'task': return `tasks['${r.task}'].outputs.${r.field}['${r.name}']`;
    case 'input': return `inputs.${r.field}['${r.name}']`;
    case 'wf': return `workflow.parameters['${r.name}']`;
    case 'status': return 'workflow.status';
    case 'oneOf': {
      const b = r.branches;
      let out = expr(b[b.length - 1]!.value);
      for (let i = b.length - 2; i >= 0; i--) out = `(tasks['${b[i]!.task}'].status == 'Succeeded' ? ${expr(b[i]!.value)} : ${out})`;
      return out;
    }
  }
}

/**
 * A string literal for an Argo expression that never contains `{{` or `}}` (which would end the
 * surrounding tag): adjacent braces are split across concatenated literals.
 */
export function exprString(s: string): string {
  const pieces: string[] = [];
  let start = 0;
  for (let i = 1; i < s.length; i++) {
    const a = s[i - 1];
    if ((a === '{' || a === '}') && s[i] === a) { pieces.push(s.slice(start, i)); start = i; }
  }
  pieces.push(s.slice(start));
  const lits = pieces.map((p) => JSON.stringify(p));
  return lits.length === 1 ? lits[0]! : `(${lits.join(' + ')})`;
}

function litText(v: JsonValue): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function renderDag(D: LDag, exports: ReadonlyMap<string, ArgVal>, closed: ClosedScope | undefined, rc: RenderContext): Map<string, Ref> {
  // Argo task names, unique in this DAG; none may start with a digit when `depends` is used.
  const taken = new Set<string>();
  const nameOf = new Map<LTask, string>();
  for (const L of D.tasks) {
    let base = dnsLabel(L.name);
    if (/^[0-9]/.test(base)) {
      // Argo refuses digit-first names in `depends`; task ids never start with a digit (SDK name rule),
      // but derived names (branch and chunk templates) may.
      base = dnsLabel(`t-${base}`);
    }
    let n = base;
    for (let i = 2; taken.has(n); i++) n = `${base}-${i}`;
    taken.add(n);
    nameOf.set(L, n);
  }
  const byId = new Map<string, LTask>();
  for (const L of D.tasks) for (const id of L.contains) byId.set(id, L);
  const requests = new Map<LTask, Map<string, ArgVal>>();
  const free = new Map<string, Ref>();
  const root = closed?.root ?? false;

  const request = (L: LTask, key: string, ref: Ref): void => {
    let m = requests.get(L);
    if (!m) requests.set(L, (m = new Map()));
    m.set(key, ref);
  };
  const asFree = (r: Ref): Resolved => {
    const key = refKey(r);
    free.set(key, r);
    return { t: 'input', field: isArt(r) ? 'artifacts' : 'parameters', name: key };
  };
  const resolve = (r: Ref): Resolved => {
    switch (r.k) {
      case 'status': return { t: 'status' };
      case 'param': return root && !r.art ? { t: 'wf', name: r.name } : asFree(r);
      case 'item': return asFree(r);
      case 'out': {
        const L = byId.get(r.task);
        if (!L) return asFree(r);
        const field: Field = r.art ? 'artifacts' : 'parameters';
        if (L.id === r.task && typeof L.call === 'string') return { t: 'task', task: nameOf.get(L)!, field, name: argoParamName(r.output) };
        const key = refKey(r);
        request(L, key, r);
        return { t: 'task', task: nameOf.get(L)!, field, name: key };
      }
      case 'oneOf': {
        const L = byId.get(r.condition);
        if (!L) return asFree(r);
        if (L.id !== r.condition) {
          const key = refKey(r);
          request(L, key, r);
          return { t: 'task', task: nameOf.get(L)!, field: r.art ? 'artifacts' : 'parameters', name: key };
        }
        const branches = r.options.map((o) => {
          const value = resolve({ k: 'out', task: o.task, output: o.output, art: r.art });
          return { task: value.t === 'task' ? value.task : '', value };
        });
        return { t: 'oneOf', branches };
      }
    }
  };
  const operand = (o: Operand, numeric: boolean): string => {
    if ('lit' in o) return numeric ? (typeof o.lit === 'number' ? String(o.lit) : `asFloat(${exprString(litText(o.lit))})`) : exprString(litText(o.lit));
    const e = expr(resolve(o.ref));
    return numeric ? `asFloat(${e})` : e;
  };
  const pred = (p: PredL): string => {
    switch (p.k) {
      case 'cmp': {
        const numeric = p.as === 'number';
        return `${operand(p.l, numeric)} ${p.op} ${operand(p.r, numeric)}`;
      }
      case 'and': return p.args.length ? `(${p.args.map(pred).join(' && ')})` : 'true';
      case 'or': return p.args.length ? `(${p.args.map(pred).join(' || ')})` : 'false';
      case 'not': return `!(${pred(p.arg)})`;
    }
  };
  const paramArg = (name: string, v: ArgVal): ArgoObject => {
    if (v.k === 'lit') return { name, value: v.text };
    return { name, value: tag(resolve(v)) };
  };
  const artArg = (name: string, r: Ref): ArgoObject => {
    const res = resolve(r);
    return res.t === 'oneOf' ? { name, fromExpression: expr(res) } : { name, from: tag(res) };
  };

  // Phase 1: everything this DAG itself refers to (so sub-DAGs know what to export).
  const outParams: ArgoObject[] = [];
  const outArts: ArgoObject[] = [];
  for (const [name, v] of exports) {
    const globalName = closed?.global ? name : undefined;
    if (v.k === 'lit') { outParams.push({ name, globalName, valueFrom: { expression: exprString(v.text) } }); continue; }
    const res = resolve(v);
    if (isArt(v)) outArts.push(res.t === 'oneOf' ? { name, globalName, fromExpression: expr(res) } : { name, globalName, from: tag(res) });
    else outParams.push(res.t === 'oneOf' ? { name, globalName, valueFrom: { expression: expr(res) } } : { name, globalName, valueFrom: { parameter: tag(res) } });
  }
  const rendered = new Map<LTask, ArgoObject>();
  for (const L of D.tasks) {
    const task: ArgoObject = { name: nameOf.get(L)!, template: typeof L.call === 'string' ? L.call : L.call.name };
    const deps: string[] = [];
    for (const id of L.uses) {
      const M = byId.get(id);
      if (M && M !== L) { const n = nameOf.get(M)!; if (!deps.includes(n)) deps.push(n); }
    }
    if (deps.length) task.depends = deps.join(' && ');
    if (L.when) {
      const p = pred(L.when.pred);
      task.when = `{{=${L.when.negate ? `!(${p})` : p}}}`;
    }
    if (L.items) {
      if (L.items.k === 'items') task.withItems = L.items.value as YamlValue;
      else task.withParam = tag(resolve(L.items));
    }
    const params = L.params.map((p) => paramArg(p.name, p.val));
    const arts = L.arts.map((a) => artArg(a.name, a.ref));
    // Key-only: Argo fills in the bucket and credentials from the workflow's artifact repository.
    // Optional: a loop with no iteration leaves no prefix (the order list is then empty).
    for (const k of L.keyed ?? []) arts.push({ name: k.name, s3: { key: k.key }, optional: true });
    task.params = params as unknown as YamlValue; // placeholder, finished below
    task.arts = arts as unknown as YamlValue;
    rendered.set(L, task);
  }

  // Phase 2: sub-DAGs, consumers before producers (tasks are in topological order), so every
  // export a later sibling asks of an earlier one is known before that one is rendered.
  const slot = rc.templates.length;
  rc.templates.push({});
  for (let i = D.tasks.length - 1; i >= 0; i--) {
    const L = D.tasks[i]!;
    if (typeof L.call === 'string') continue;
    const childFree = renderDag(L.call, requests.get(L) ?? new Map(), undefined, rc);
    const task = rendered.get(L)!;
    const params = task.params as unknown as ArgoObject[];
    const arts = task.arts as unknown as ArgoObject[];
    for (const [key, ref] of childFree) {
      if (ref.k === 'item' && ref.loop === L.loop) params.push({ name: key, value: ref.path.length ? `{{item.${ref.path[0]}}}` : '{{item}}' });
      else if (isArt(ref)) arts.push(artArg(key, ref));
      else params.push(paramArg(key, ref));
    }
  }
  const tasks: ArgoObject[] = [];
  for (const L of D.tasks) {
    const t = rendered.get(L)!;
    const params = t.params as unknown as ArgoObject[];
    const arts = t.arts as unknown as ArgoObject[];
    delete t.params;
    delete t.arts;
    if (params.length || arts.length) t.arguments = { parameters: params.length ? params : undefined, artifacts: arts.length ? arts : undefined };
    tasks.push(t);
  }

  let inParams: ArgoObject[] = [];
  let inArts: ArgoObject[] = [];
  if (closed?.inputs) { inParams = [...closed.inputs.parameters]; inArts = [...closed.inputs.artifacts]; }
  else for (const [key, ref] of free) (isArt(ref) ? inArts : inParams).push({ name: key });
  if (closed && !closed.inputs) {
    // Root: only artifact parameters arrive as inputs (spec.arguments.artifacts); nothing else may be free.
    inParams = [];
    for (const [key, ref] of free) if (!(ref.k === 'param' && ref.art)) rc.issues.push({ code: 'argo.internal', path: D.name, message: `unresolved reference ${key}` });
  }
  rc.templates[slot] = {
    name: D.name,
    annotations: closed?.annotations as YamlValue,
    inputs: inParams.length || inArts.length ? { parameters: inParams.length ? inParams : undefined, artifacts: inArts.length ? inArts : undefined } : undefined,
    outputs: outParams.length || outArts.length ? { parameters: outParams.length ? outParams : undefined, artifacts: outArts.length ? outArts : undefined } : undefined,
    parallelism: D.parallelism,
    dag: { tasks },
  };
  return free;
}
