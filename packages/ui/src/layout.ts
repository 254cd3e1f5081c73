/**
 * The DAG's layout (dagre: layered, with compound groups): where each node, group and edge of a
 * run's graph is drawn. The server lays out the graph with every nested pipeline closed and sends
 * it with the Run page's answer (so the page draws the DAG without dagre); the page loads this
 * module, in a chunk of its own, only when a nested pipeline is opened. Sizes come from the
 * labels' lengths (no text is measured), so the server and the page lay out alike.
 */
import { graphlib, layout as dagreLayout } from '@dagrejs/dagre';
import type { Graph, GraphNode } from './data.ts';

/** Instances per state, as a node's second line: `9998 succeeded, 2 failed` (client/main.js says it alike). */
export const countsText = (counts: { readonly [state: string]: number }): string => Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ');

export interface Box {
  readonly id: string;
  /** The centre, and the size. */
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}
export interface Layout {
  readonly width: number;
  readonly height: number;
  /** Loops, condition branches (`<condition>:then`), conditions and open nested pipelines: boxes drawn behind the nodes, the largest first. */
  readonly groups: readonly Box[];
  /** The nodes drawn (tasks, closed nested pipelines), in the graph's order. */
  readonly nodes: readonly Box[];
  /** Each edge as its points, `[x0, y0, x1, y1, …]`. */
  readonly edges: readonly (readonly number[])[];
}

const r1 = (v: number) => Math.round(v * 10) / 10;
const box = (id: string, b: { x: number; y: number; width: number; height: number }): Box => ({ id, x: r1(b.x), y: r1(b.y), width: r1(b.width), height: r1(b.height) });

/** Lays out `graph` with the nested pipelines in `open` drawn as groups of their tasks, the others as one node each. */
export function layoutGraph(graph: Graph, open: ReadonlySet<string>): Layout {
  const g = new graphlib.Graph({ compound: true, multigraph: false });
  g.setGraph({ rankdir: 'TB', nodesep: 18, ranksep: 30, marginx: 8, marginy: 8 });
  g.setDefaultEdgeLabel(() => ({}));
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const above = (parent: string | null) => (parent ? byId.get(parent.replace(/:(then|else)$/, '')) : undefined);
  // the node drawn for n: n itself, or the outermost closed nested pipeline around it
  const rep = new Map<string, string>();
  const repOf = (n: GraphNode): string => {
    let r = rep.get(n.id);
    if (r === undefined) {
      r = n.id;
      for (let p = above(n.parent); p; p = above(p.parent)) if (p.kind === 'pipeline' && !open.has(p.id)) r = p.id;
      rep.set(n.id, r);
    }
    return r;
  };
  const shown = graph.nodes.filter((n) => repOf(n) === n.id);
  const isGroup = (n: GraphNode) => n.kind === 'loop' || n.kind === 'condition' || (n.kind === 'pipeline' && open.has(n.id));
  const groups = new Set<string>();
  for (const n of shown) {
    if (!isGroup(n)) {
      const second = n.kind === 'pipeline' ? countsText(n.inner ?? {}) : n.instances > 1 ? countsText(n.counts) : n.state;
      g.setNode(n.id, { width: Math.max(120, n.label.length * 6.4 + 28, second.length * 6.2 + 16), height: 34 });
    } else {
      g.setNode(n.id, { label: n.id });
      groups.add(n.id);
    }
  }
  for (const n of shown) {
    if (!n.parent) continue;
    const m = /^(.*):(then|else)$/.exec(n.parent);
    if (m) {
      if (!g.hasNode(n.parent)) {
        g.setNode(n.parent, {});
        g.setParent(n.parent, m[1] as string);
        groups.add(n.parent);
      }
    }
    g.setParent(n.id, n.parent);
  }
  const leaves = (id: string, last: boolean): string | null => {
    if (!groups.has(id)) return id;
    const kids = (g.children(id) as string[] | undefined) ?? [];
    if (!kids.length) return null;
    return leaves(kids[last ? kids.length - 1 : 0] as string, last);
  };
  for (const e of graph.edges) {
    const f = byId.get(e.from);
    const t = byId.get(e.to);
    if (!f || !t) continue;
    const a = leaves(repOf(f), true);
    const b = leaves(repOf(t), false);
    if (a && b && a !== b && !g.hasEdge(a, b)) g.setEdge(a, b);
  }
  for (const id of groups) if (!((g.children(id) as string[] | undefined) ?? []).length) g.setNode(id, { width: 120, height: 30 });
  dagreLayout(g);
  const info = g.graph() as { width: number; height: number };
  const gs = [...groups].map((id) => box(id, g.node(id) as never)).sort((a, b) => b.width * b.height - a.width * a.height);
  return {
    width: r1(info.width),
    height: r1(info.height),
    groups: gs,
    nodes: shown.filter((n) => !groups.has(n.id)).map((n) => box(n.id, g.node(n.id) as never)),
    edges: g.edges().map((e: { v: string; w: string }) => (g.edge(e) as { points: { x: number; y: number }[] }).points.flatMap((p) => [r1(p.x), r1(p.y)])),
  };
}

/**
 * Lays out a small graph with every kind of node once: the server does it before it prints its
 * URL, so that a first visit does not pay for compiling dagre's code (as for its routes).
 */
export function warmLayout(): void {
  const node = (id: string, kind: GraphNode['kind'], parent: string | null, more: Partial<GraphNode> = {}): GraphNode => ({ id, kind, parent, label: id, state: 'succeeded', counts: { succeeded: 2 }, keys: [], instances: 2, ...more });
  const graph: Graph = {
    nodes: [node('each', 'loop', null, { iterations: 2 }), node('a', 'task', 'each'), node('if', 'condition', null, { predicate: 'a.x > 1', branch: 'then' }), node('b', 'task', 'if:then'), node('c', 'task', 'if:else'), node('sub', 'pipeline', null, { pipeline: 'p', inner: { succeeded: 1 } }), node('sub/d', 'task', 'sub'), node('e', 'task', null)],
    edges: [{ from: 'each', to: 'if' }, { from: 'a', to: 'if' }, { from: 'if', to: 'sub' }, { from: 'sub', to: 'e' }],
  };
  layoutGraph(graph, new Set());
  layoutGraph(graph, new Set(['sub']));
}
