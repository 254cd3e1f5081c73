// `sluice compile --graph`: DOT and Mermaid draw the same, true graph (issue 9 item 18).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toGraph } from '@sluice/compiler';
import { toIR } from '@sluice/sdk';

const EXAMPLE = join(import.meta.dirname, '..', '..', '..', '..', 'examples', 'tabular-training', 'pipeline.ts');

describe('DAG drawings', () => {
  it('DOT edges into a condition stop at its cluster (compound/lhead), as Mermaid edges to the subgraph; both show the predicate', async () => {
    const ir = toIR((await import(EXAMPLE)).default);
    const dot = toGraph(ir, 'dot');
    const mermaid = toGraph(ir, 'mermaid');
    expect(dot).toContain('  compound=true;');
    // promote feeds the condition (its predicate) and, separately, model-card's version input: the
    // first arrow stops at the condition's cluster, the second reaches the leaf; pick-best's only the leaf
    expect(dot).toContain('"promote" -> "model-card" [lhead="cluster_promoted"];');
    expect(dot).toContain('"promote" -> "model-card";');
    expect(dot).not.toContain('"pick-best" -> "model-card" [lhead');
    const pred = 'promote.promoted == true';
    expect(dot).toContain(`label="if promoted: ${pred}"`);
    expect(mermaid).toContain(`subgraph promoted["if promoted: ${pred}"]`);
    // the same edges: DOT's, with a clipped end named by its cluster, are Mermaid's
    const id = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');
    const dotEdges = [...dot.matchAll(/^ {2}"([^"]+)" -> "([^"]+)"(?: \[(.*)\])?;$/gm)].map(([, a, b, attrs]) => {
      const tail = /ltail="cluster_([^"]+)"/.exec(attrs ?? '')?.[1] ?? a;
      const head = /lhead="cluster_([^"]+)"/.exec(attrs ?? '')?.[1] ?? b;
      return `${id(tail as string)} --> ${id(head as string)}`;
    }).sort();
    const mermaidEdges = [...mermaid.matchAll(/^ {2}(\S+) --> (\S+)$/gm)].map(([, a, b]) => `${a} --> ${b}`).sort();
    expect(dotEdges).toEqual(mermaidEdges);
    expect(new Set(dotEdges).size).toBe(dotEdges.length); // no duplicate arrows
  });
});
