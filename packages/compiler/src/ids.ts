/**
 * IR ids as numbers (internal). Lowering numbers every id of a scope once (its tasks, conditions,
 * loops and derived ids such as `cond/else`); the L form, the chunking pass and the render pass
 * then refer to ids by number and find "which task of this DAG holds id n" in typed arrays
 * instead of building a map of strings per DAG and per pass.
 */
import type { LTask } from './lower.ts';

/** The numbers of one scope's IR ids, handed out in first-seen order. */
export class IdNumbers {
  private readonly map = new Map<string, number>();

  of(id: string): number {
    let n = this.map.get(id);
    if (n === undefined) this.map.set(id, (n = this.map.size));
    return n;
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * Which task of a DAG holds each id, for the DAGs of one scope. A DAG is indexed at its nesting
 * depth: the DAGs at one depth hold disjoint ids (they form a tree), so a parent's table stays
 * valid while its sub-DAGs are indexed, and a stamp per DAG tells its entries from older ones.
 */
export class IdIndex {
  private readonly pos: Int32Array[] = [];
  private readonly owner: Int32Array[] = [];
  private serial = 0;

  constructor(private readonly size: number) {}

  /** Indexes `tasks` (one DAG) at `depth`; returns the stamp to look them up with. */
  index(tasks: readonly LTask[], depth: number): number {
    let pos = this.pos[depth];
    let owner = this.owner[depth];
    if (!pos || !owner) {
      pos = this.pos[depth] = new Int32Array(this.size);
      owner = this.owner[depth] = new Int32Array(this.size);
    }
    const stamp = ++this.serial;
    for (let k = 0; k < tasks.length; k++) {
      const contains = tasks[k]!.contains;
      for (let i = 0; i < contains.length; i++) {
        const id = contains[i]!;
        pos[id] = k;
        owner[id] = stamp;
      }
    }
    return stamp;
  }

  /** The position of the task holding id `n` in the DAG indexed with `stamp` at `depth`, or -1. */
  find(depth: number, stamp: number, n: number): number {
    return this.owner[depth]![n] === stamp ? this.pos[depth]![n]! : -1;
  }
}
