/**
 * Size pass (internal): keeps every emitted object under the API server's object size limit.
 * Kubernetes stores an object as JSON and refuses it above ~1.5 MiB (etcd's request limit; 1 MiB
 * is the usual safe figure). When one Workflow's spec would be larger, its DAG templates are
 * packed into library `WorkflowTemplate`s, each under the budget, and the DAG tasks that call a
 * template in another document use `templateRef`. The entry object keeps the root DAG (and the
 * exit handler). Component (pod) templates are copied into every document whose DAGs call them,
 * because Argo resolves a `template:` inside a referenced WorkflowTemplate against that
 * WorkflowTemplate's own templates.
 *
 * Deterministic: templates are packed in output order (a parent before its sub-DAGs, so a
 * subtree stays together), and the library names are `<pipeline>-<hash of every template>-<n>`:
 * content-named, so a changed pipeline never reuses a name with other content.
 */
import { createHash } from 'node:crypto';
import type { ArgoObject } from './templates.ts';
import type { YamlValue } from './yaml.ts';

/** Bytes of JSON per document we aim under: 1 MiB less a quarter for what the server adds (metadata, managed fields, status). */
const DOCUMENT_BUDGET = 768 * 1024;
/** Argo v4's CRD: at most 200 templates per object. */
export const MAX_TEMPLATES = 200;
/** Extra bytes a task needs when its `template: x` becomes `templateRef: {name: <library>, template: x}`. */
const TEMPLATE_REF_BYTES = 96;

/** One library document: its name and templates, in output order. */
export interface Library {
  readonly name: string;
  readonly templates: readonly ArgoObject[];
  /** Its size as JSON, at most (templateRefs counted at their largest). */
  readonly bytes: number;
}

/** How the templates were distributed over documents. */
export interface Placement {
  /** The entry object's templates. */
  readonly entry: readonly ArgoObject[];
  /** The entry object's size as JSON, at most. */
  readonly entryBytes: number;
  readonly libraries: readonly Library[];
}

type Task = { template?: YamlValue; templateRef?: YamlValue; [k: string]: YamlValue };

function dagTasks(t: ArgoObject): Task[] | undefined {
  return (t.dag as { tasks?: Task[] } | undefined)?.tasks;
}

interface Doc {
  readonly templates: ArgoObject[];
  readonly names: Set<string>;
  size: number;
}

/**
 * Distributes `templates` over documents when the entry object would exceed `budget` bytes of
 * JSON; returns only the entry's size when everything fits in one. `envelope` is the entry
 * object's size without templates; `libraryEnvelope` a library's. Throws nothing: a template too
 * large for any document is returned in a library of its own, and its size lets the caller report it.
 */
export function placeTemplates(
  templates: readonly ArgoObject[],
  entryNames: ReadonlySet<string>,
  envelope: number,
  libraryEnvelope: number,
  namePrefix: string,
  budget = DOCUMENT_BUDGET,
): Placement | { readonly entryBytes: number; readonly libraries?: undefined } {
  const size = new Map<string, number>();
  const json: string[] = new Array(templates.length);
  let total = envelope;
  for (let i = 0; i < templates.length; i++) {
    const t = templates[i]!;
    const text = (json[i] = JSON.stringify(t));
    const n = utf8Bytes(text) + 1;
    size.set(t.name as string, n);
    total += n;
  }
  if (total <= budget && templates.length <= MAX_TEMPLATES) return { entryBytes: total };

  const byName = new Map(templates.map((t) => [t.name as string, t]));
  const isDag = (name: string): boolean => byName.get(name)?.dag !== undefined;
  // What a DAG template costs in a document: itself, room for templateRefs, and the pod templates
  // it calls (worked out once per template: placing asks for them twice).
  const callsOf = new Map<ArgoObject, { calls: string[]; own: number }>();
  const called = (t: ArgoObject): { calls: string[]; own: number } => {
    let c = callsOf.get(t);
    if (c === undefined) {
      const names = new Set<string>();
      let refs = 0;
      const tasks = dagTasks(t) ?? [];
      for (let i = 0; i < tasks.length; i++) {
        const name = tasks[i]!.template as string;
        names.add(name);
        if (isDag(name)) refs++;
      }
      callsOf.set(t, (c = { calls: [...names], own: size.get(t.name as string)! + refs * TEMPLATE_REF_BYTES }));
    }
    return c;
  };
  const calls = (t: ArgoObject): string[] => called(t).calls;
  const own = (t: ArgoObject): number => called(t).own;
  const add = (d: Doc, t: ArgoObject): void => {
    d.templates.push(t);
    d.names.add(t.name as string);
    d.size += own(t);
    for (const c of calls(t)) {
      if (isDag(c) || d.names.has(c)) continue;
      const leaf = byName.get(c)!;
      d.templates.push(leaf);
      d.names.add(c);
      d.size += size.get(c)!;
    }
  };
  const cost = (d: Doc, t: ArgoObject): { bytes: number; count: number } => {
    let b = own(t);
    let count = 1;
    for (const c of calls(t)) if (!isDag(c) && !d.names.has(c)) { b += size.get(c)!; count++; }
    return { bytes: b, count };
  };

  const entry: Doc = { templates: [], names: new Set(), size: envelope };
  for (const t of templates) if (entryNames.has(t.name as string)) add(entry, t);
  const docs: Doc[] = [];
  let cur: Doc | undefined;
  for (const t of templates) {
    if (t.dag === undefined || entryNames.has(t.name as string)) continue;
    const c = cur ? cost(cur, t) : undefined;
    if (!cur || !c || cur.size + c.bytes > budget || cur.templates.length + c.count > MAX_TEMPLATES) {
      cur = { templates: [], names: new Set(), size: libraryEnvelope };
      docs.push(cur);
    }
    add(cur, t);
  }

  const h = createHash('sha256');
  for (const text of json) h.update(text).update('\n');
  const hash = h.digest('hex').slice(0, 10);
  const libraries = docs.map((d, i) => ({ name: `${namePrefix}-${hash}-${i}`, templates: d.templates, bytes: d.size }));
  const home = new Map<string, string>();
  for (const l of libraries) for (const t of l.templates) if (t.dag !== undefined) home.set(t.name as string, l.name);
  const rewrite = (doc: readonly ArgoObject[], self: string | undefined): ArgoObject[] => doc.map((t) => {
    const tasks = dagTasks(t);
    // Whether any task calls a template of another document, from the template's distinct callees.
    if (!tasks || !calls(t).some((c) => home.has(c) && home.get(c) !== self)) return t;
    return {
      ...t,
      dag: {
        ...(t.dag as ArgoObject),
        tasks: tasks.map((x) => {
          const lib = home.get(x.template as string);
          if (lib === undefined || lib === self) return x;
          const { name, template, ...rest } = x;
          return { name, templateRef: { name: lib, template }, ...rest } as YamlValue;
        }),
      },
    };
  });
  return {
    entry: rewrite(entry.templates, undefined),
    entryBytes: entry.size,
    libraries: libraries.map((l) => ({ ...l, templates: rewrite(l.templates, l.name) })),
  };
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\u0000-\u007f]/;

/** Bytes of `text` in UTF-8: its length when it is ASCII, as compiled manifests mostly are. */
function utf8Bytes(text: string): number {
  return NON_ASCII.test(text) ? Buffer.byteLength(text) : text.length;
}

/** JSON size of an object as the API server stores it (without what the server adds). */
export function jsonBytes(o: ArgoObject): number {
  return Buffer.byteLength(JSON.stringify(o));
}
