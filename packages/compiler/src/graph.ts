/**
 * The pipeline DAG as text for humans: Mermaid (`flowchart TD`) or Graphviz DOT. Conditions and
 * loops are drawn as clusters; edges come from explicit `after` and from data references.
 */
import * as graphlib from '@dagrejs/graphlib';
import type { NodeIR, PipelineIR, PredicateIR, ValueIR } from '@sluice/sdk';

/** Output formats of {@link toGraph}. */
export type GraphFormat = 'mermaid' | 'dot';

function valueSources(v: ValueIR): string[] {
  switch (v.kind) {
    case 'output': return [v.task];
    case 'collect': return [v.task];
    case 'oneOf': return v.options.map((o) => o.task);
    default: return [];
  }
}

function predSources(p: PredicateIR): string[] {
  switch (p.kind) {
    case 'compare': return [...valueSources(p.left), ...valueSources(p.right)];
    case 'and': case 'or': return p.args.flatMap(predSources);
    case 'not': return predSources(p.arg);
  }
}

/** A predicate as a person reads it: `pick-best.accuracy >= params.minAccuracy and …`. */
export function predicateText(p: PredicateIR): string {
  const v = (x: ValueIR): string => {
    switch (x.kind) {
      case 'literal': return JSON.stringify(x.value);
      case 'param': return `params.${x.name}`;
      case 'output': return `${x.task}.${x.output}`;
      case 'item': return [x.loop, ...x.path].join('.');
      case 'collect': return `${x.loop}[*].${x.task}.${x.output}`;
      case 'oneOf': return `oneOf(${x.options.map((o) => `${o.task}.${o.output}`).join(', ')})`;
      case 'status': return 'status';
    }
  };
  switch (p.kind) {
    case 'compare': return `${v(p.left)} ${p.op} ${v(p.right)}`;
    case 'and': case 'or': return p.args.map((a) => (a.kind === 'and' || a.kind === 'or' ? `(${predicateText(a)})` : predicateText(a))).join(` ${p.kind} `);
    case 'not': return `not (${predicateText(p.arg)})`;
  }
}

function build(ir: PipelineIR): graphlib.Graph {
  const g = new graphlib.Graph({ directed: true, compound: true, multigraph: false });
  const add = (nodes: readonly NodeIR[], parent: string | undefined): void => {
    for (const n of nodes) {
      if (n.kind === 'task') {
        const comp = ir.components[n.component];
        g.setNode(n.id, { label: comp && comp.name !== n.id ? `${n.id}\n${comp.name}` : n.id, kind: 'task' });
      } else if (n.kind === 'condition') {
        g.setNode(n.id, { label: `if ${n.id}: ${predicateText(n.predicate)}`, kind: 'cluster' });
        for (const s of predSources(n.predicate)) g.setEdge(s, n.id);
        const thenId = `${n.id}__then`;
        g.setNode(thenId, { label: 'then', kind: 'cluster' });
        g.setParent(thenId, n.id);
        add(n.then, thenId);
        if (n.else.length) {
          const elseId = `${n.id}__else`;
          g.setNode(elseId, { label: 'else', kind: 'cluster' });
          g.setParent(elseId, n.id);
          add(n.else, elseId);
        }
      } else {
        g.setNode(n.id, { label: `for each ${n.id}${n.parallelism ? ` (${n.parallelism} at a time)` : ''}`, kind: 'cluster' });
        for (const s of valueSources(n.items)) g.setEdge(s, n.id);
        add(n.body, n.id);
      }
      if (parent) g.setParent(n.id, parent);
      for (const a of n.after) g.setEdge(a, n.id);
      if (n.kind === 'task') for (const v of Object.values(n.inputs)) for (const s of valueSources(v)) g.setEdge(s, n.id);
    }
  };
  add(ir.dag, undefined);
  if (ir.exitHandler) {
    const comp = ir.components[ir.exitHandler.component];
    g.setNode(ir.exitHandler.id, { label: `${ir.exitHandler.id} (on exit)${comp && comp.name !== ir.exitHandler.id ? `\n${comp.name}` : ''}`, kind: 'task' });
  }
  return g;
}

const mermaidText = (s: string) => `"${s.replace(/"/g, '#quot;').replace(/\n/g, '<br/>')}"`;
const mermaidId = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
const dotText = (s: string) => JSON.stringify(s);

/**
 * Draws a pipeline's DAG as Mermaid or DOT text (deterministic).
 *
 * @example
 * console.log(toGraph(toIR(myPipeline), 'mermaid'));
 * // flowchart TD
 * //   prep["prep<br/>prepare"]
 * //   prep --> train
 */
export function toGraph(ir: PipelineIR, format: GraphFormat): string {
  const g = build(ir);
  const lines: string[] = [];
  const label = (id: string) => (g.node(id) as { label: string }).label;
  const isCluster = (id: string) => (g.node(id) as { kind: string }).kind === 'cluster';
  const emit = (parent: string | undefined, depth: number): void => {
    const pad = '  '.repeat(depth);
    const children = (parent === undefined ? g.children() : g.children(parent)) ?? [];
    for (const id of children) {
      if (isCluster(id)) {
        if (format === 'mermaid') lines.push(`${pad}subgraph ${mermaidId(id)}[${mermaidText(label(id))}]`);
        else lines.push(`${pad}subgraph ${dotText(`cluster_${id}`)} {`, `${pad}  label=${dotText(label(id))};`);
        emit(id, depth + 1);
        lines.push(format === 'mermaid' ? `${pad}end` : `${pad}}`);
      } else lines.push(format === 'mermaid' ? `${pad}${mermaidId(id)}[${mermaidText(label(id))}]` : `${pad}${dotText(id)} [label=${dotText(label(id))}];`);
    }
  };
  lines.push(...(format === 'mermaid' ? ['flowchart TD'] : [`digraph ${dotText(ir.name)} {`, '  compound=true;']));
  emit(undefined, 1);
  const edges = g.edges().filter((e) => g.hasNode(e.v) && g.hasNode(e.w));
  for (const e of edges) {
    if (format === 'mermaid') lines.push(`  ${mermaidId(e.v)} --> ${mermaidId(e.w)}`);
    else {
      // an edge to or from a cluster is drawn between leaves and clipped at the cluster (compound,
      // lhead/ltail), so it reads as Mermaid's edge to the subgraph: no false arrow into a leaf
      const attrs = [...(isCluster(e.v) ? [`ltail=${dotText(`cluster_${e.v}`)}`] : []), ...(isCluster(e.w) ? [`lhead=${dotText(`cluster_${e.w}`)}`] : [])];
      lines.push(`  ${dotText(isCluster(e.v) ? firstLeaf(g, e.v) : e.v)} -> ${dotText(isCluster(e.w) ? firstLeaf(g, e.w) : e.w)}${attrs.length ? ` [${attrs.join(', ')}]` : ''};`);
    }
  }
  if (format === 'dot') lines.push('}');
  return `${lines.join('\n')}\n`;
}

// DOT edges join nodes, not clusters: use a node inside the cluster.
function firstLeaf(g: graphlib.Graph, id: string): string {
  const kids = g.children(id) ?? [];
  for (const k of kids) {
    const kind = (g.node(k) as { kind: string }).kind;
    return kind === 'cluster' ? firstLeaf(g, k) : k;
  }
  return id;
}
