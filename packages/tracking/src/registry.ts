/**
 * The model registry behind `ctx.models`, `promote(...)` and `sluice models`: the embedded store or
 * MLflow's registered models, with one meaning. A version records its source run, task, artifact
 * hash, git commit and data hashes; aliases (`champion`, `challenger`, any name) point at versions
 * and move only through {@link Registry.promote} (gated), {@link Registry.setAlias} (by hand, still
 * recorded) or {@link Registry.rollback} (back to the holder before the current one).
 */
import { decideGate, type GateDecision, type GateEvidence, type GateSpec } from './gate.ts';
import type { ModelVersion, NewVersion, TrackingStore } from './embedded.ts';
import { checkModelName } from './names.ts';
import { TrackingError } from './events.ts';
import { MlflowClient, type MlflowModelVersion } from './mlflow.ts';
import { ensureMlflowRun } from './sync.ts';

export type { ModelVersion, NewVersion };

export interface ModelSummary { readonly name: string; readonly versions: number; readonly aliases: readonly { alias: string; version: number }[] }

export interface PromoteRequest {
  readonly name: string;
  readonly alias: string;
  readonly challenger: ModelVersion;
  readonly gate: GateSpec;
  readonly runId?: string;
  readonly taskKey?: string;
}
export interface PromoteResult {
  readonly promoted: boolean;
  readonly version: number;
  readonly holder: number | null;
  readonly decision: GateDecision;
}

export interface Registry {
  readonly kind: 'embedded' | 'mlflow';
  /** Creates a version; the same artifact (by content hash) registered again gets the version it has. */
  register(v: NewVersion): Promise<ModelVersion>;
  version(name: string, version: number): Promise<ModelVersion | undefined>;
  byAlias(name: string, alias: string): Promise<ModelVersion | undefined>;
  versions(name: string): Promise<ModelVersion[]>;
  list(): Promise<ModelSummary[]>;
  /** Applies the gate to the challenger against the alias's holder; moves the alias only when it passes. Every decision is recorded. */
  promote(req: PromoteRequest): Promise<PromoteResult>;
  /** Points the alias at a version without a gate (recorded as done by hand). */
  setAlias(name: string, alias: string, version: number): Promise<void>;
  /** Re-points the alias to the holder before the current one; returns both. */
  rollback(name: string, alias: string): Promise<{ from: number; to: number }>;
  close(): void;
}

export function evidence(v: ModelVersion): GateEvidence {
  return { version: String(v.version), metrics: v.metrics, evalData: v.evalData, trainData: v.trainData };
}

// ---------------------------------------------------------------- embedded

export class EmbeddedRegistry implements Registry {
  readonly kind = 'embedded' as const;
  constructor(readonly store: TrackingStore) {}

  async register(v: NewVersion): Promise<ModelVersion> {
    return this.store.registerVersion(v);
  }
  async version(name: string, version: number): Promise<ModelVersion | undefined> {
    return this.store.version(name, version);
  }
  async byAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    return this.store.byAlias(name, alias);
  }
  async versions(name: string): Promise<ModelVersion[]> {
    return this.store.versions(name);
  }
  async list(): Promise<ModelSummary[]> {
    return this.store.models();
  }
  async promote(req: PromoteRequest): Promise<PromoteResult> {
    checkModelName(req.alias, 'alias');
    // Decide and move in one immediate transaction: nobody can move the alias in between.
    return this.store.transaction(() => {
      const holder = this.store.byAlias(req.name, req.alias);
      const decision = decideGate(req.gate, evidence(req.challenger), holder && holder.version !== req.challenger.version ? evidence(holder) : undefined);
      const already = holder?.version === req.challenger.version;
      const passed = decision.passed && !already;
      const d = already ? { ...decision, passed: false, reasons: [`version ${req.challenger.version} already holds "${req.alias}"`] } : decision;
      const id = this.store.recordDecision({ name: req.name, alias: req.alias, challenger: req.challenger.version, holder: holder?.version ?? null, passed, reasons: d.reasons, checks: d.checks, runId: req.runId ?? null, taskKey: req.taskKey ?? null, at: Date.now() });
      if (passed) this.store.moveAlias(req.name, req.alias, req.challenger.version, holder?.version ?? null, 'promote', id);
      return { promoted: passed, version: req.challenger.version, holder: holder?.version ?? null, decision: d };
    });
  }
  async setAlias(name: string, alias: string, version: number): Promise<void> {
    this.store.transaction(() => {
      if (!this.store.version(name, version)) throw new TrackingError('registry.version', `model "${name}" has no version ${version}`);
      const cur = this.store.byAlias(name, alias)?.version ?? null;
      this.store.moveAlias(name, alias, version, cur, 'manual', null);
    });
  }
  async rollback(name: string, alias: string): Promise<{ from: number; to: number }> {
    return this.store.transaction(() => {
      const cur = this.store.byAlias(name, alias);
      if (!cur) throw new TrackingError('registry.alias', `no version of "${name}" holds "${alias}": nothing to roll back`);
      const gained = this.store.aliasHistory(name, alias).filter((h) => h.version === cur.version && h.why !== 'rollback').at(-1);
      const to = gained?.previous ?? null;
      if (to === null) throw new TrackingError('registry.rollback', `version ${cur.version} of "${name}" was the first to hold "${alias}": there is no previous holder to roll back to`);
      this.store.moveAlias(name, alias, to, cur.version, 'rollback', null);
      return { from: cur.version, to };
    });
  }
  close(): void {
    this.store.close();
  }
}

// ---------------------------------------------------------------- MLflow

const T = {
  runId: 'sluice.run_id', task: 'sluice.task_key', hash: 'sluice.artifact_hash', uri: 'sluice.artifact_uri',
  commit: 'sluice.git_commit', dirty: 'sluice.git_dirty', train: 'sluice.train_data', eval: 'sluice.eval_data',
  metrics: 'sluice.metrics', tags: 'sluice.tags', previous: (alias: string) => `sluice.previous.${alias}`,
  decision: (alias: string) => `sluice.decision.${alias}`,
} as const;

/** MLflow registered models; versions carry Sluice's evidence as tags (`sluice.*`). */
export class MlflowRegistry implements Registry {
  readonly kind = 'mlflow' as const;
  constructor(readonly client: MlflowClient, readonly experiment: (runId: string) => string) {}

  private toVersion(v: MlflowModelVersion): ModelVersion {
    const tags = Object.fromEntries((v.tags ?? []).map((t) => [t.key, t.value]));
    const json = <V>(k: string, d: V): V => {
      try {
        return tags[k] !== undefined ? (JSON.parse(tags[k] as string) as V) : d;
      } catch {
        return d;
      }
    };
    return {
      name: v.name, version: Number(v.version), runId: tags[T.runId] ?? '', taskKey: tags[T.task] ?? '', artifactHash: tags[T.hash] ?? '', artifactUri: tags[T.uri] ?? v.source ?? '',
      gitCommit: tags[T.commit] ?? null, gitDirty: tags[T.dirty] === undefined ? null : tags[T.dirty] === 'true',
      trainData: json(T.train, []), evalData: json(T.eval, []), metrics: json(T.metrics, {}), tags: json(T.tags, {}),
      createdAt: v.creation_timestamp ?? 0, aliases: [...(v.aliases ?? [])].sort(),
    };
  }

  async register(v: NewVersion): Promise<ModelVersion> {
    checkModelName(v.name);
    await this.client.ensureRegisteredModel(v.name);
    const existing = (await this.client.searchModelVersions(v.name)).map((x) => this.toVersion(x)).find((x) => x.artifactHash === v.artifactHash); // the same bytes: the same version
    if (existing) return existing;
    const mlRun = await ensureMlflowRun(this.client, this.experiment(v.runId), v.runId, v.taskKey);
    const tags = [
      { key: T.runId, value: v.runId }, { key: T.task, value: v.taskKey }, { key: T.hash, value: v.artifactHash }, { key: T.uri, value: v.artifactUri },
      ...(v.gitCommit ? [{ key: T.commit, value: v.gitCommit }] : []), ...(v.gitDirty !== undefined && v.gitDirty !== null ? [{ key: T.dirty, value: String(v.gitDirty) }] : []),
      { key: T.train, value: JSON.stringify([...(v.trainData ?? [])].sort()) }, { key: T.eval, value: JSON.stringify([...(v.evalData ?? [])].sort()) },
      { key: T.metrics, value: JSON.stringify(v.metrics ?? {}) }, { key: T.tags, value: JSON.stringify(v.tags ?? {}) },
      ...Object.entries(v.tags ?? {}).map(([key, value]) => ({ key, value })),
    ];
    return this.toVersion(await this.client.createModelVersion(v.name, `runs:/${mlRun}/${v.taskKey.replace(/[^A-Za-z0-9_.-]/g, '_')}`, mlRun, tags));
  }
  async version(name: string, version: number): Promise<ModelVersion | undefined> {
    return (await this.versions(name)).find((v) => v.version === version);
  }
  async byAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    const v = await this.client.getByAlias(name, alias);
    return v && (await this.version(name, Number(v.version)));
  }
  async versions(name: string): Promise<ModelVersion[]> {
    // model-versions/search leaves aliases out; registered-models/get has them.
    const [vs, aliases] = await Promise.all([this.client.searchModelVersions(name), this.client.modelAliases(name)]);
    return vs.map((v) => this.toVersion({ ...v, aliases: (aliases ?? []).filter((a) => a.version === v.version).map((a) => a.alias) })).sort((a, b) => a.version - b.version);
  }
  async list(): Promise<ModelSummary[]> {
    throw new TrackingError('registry.list', 'listing every registered model of an MLflow server is not supported here; name the model');
  }
  async promote(req: PromoteRequest): Promise<PromoteResult> {
    checkModelName(req.alias, 'alias');
    const holder = await this.byAlias(req.name, req.alias);
    const already = holder?.version === req.challenger.version;
    const decision = decideGate(req.gate, evidence(req.challenger), holder && !already ? evidence(holder) : undefined);
    const passed = decision.passed && !already;
    const d = already ? { ...decision, passed: false, reasons: [`version ${req.challenger.version} already holds "${req.alias}"`] } : decision;
    await this.client.setModelVersionTag(req.name, String(req.challenger.version), T.decision(req.alias), JSON.stringify({ passed, holder: holder?.version ?? null, reasons: d.reasons, at: Date.now() }));
    if (passed) {
      // MLflow has no compare-and-swap on aliases: re-read just before moving and refuse if it moved.
      const now = await this.client.getByAlias(req.name, req.alias);
      if ((now ? Number(now.version) : null) !== (holder?.version ?? null)) throw new TrackingError('registry.race', `"${req.alias}" of "${req.name}" moved while the gate was deciding; run the promotion again`);
      if (holder) await this.client.setModelVersionTag(req.name, String(req.challenger.version), T.previous(req.alias), String(holder.version));
      await this.client.setAlias(req.name, req.alias, String(req.challenger.version));
    }
    return { promoted: passed, version: req.challenger.version, holder: holder?.version ?? null, decision: d };
  }
  async setAlias(name: string, alias: string, version: number): Promise<void> {
    const cur = await this.client.getByAlias(name, alias);
    if (cur) await this.client.setModelVersionTag(name, String(version), T.previous(alias), String(cur.version));
    await this.client.setAlias(name, alias, String(version));
  }
  async rollback(name: string, alias: string): Promise<{ from: number; to: number }> {
    const cur = await this.client.getByAlias(name, alias);
    if (!cur) throw new TrackingError('registry.alias', `no version of "${name}" holds "${alias}": nothing to roll back`);
    const tagsOf = cur.tags ?? (await this.client.searchModelVersions(name)).find((v) => v.version === cur.version)?.tags ?? [];
    const prev = tagsOf.find((t) => t.key === T.previous(alias))?.value;
    if (!prev) throw new TrackingError('registry.rollback', `version ${cur.version} of "${name}" was the first to hold "${alias}": there is no previous holder to roll back to`);
    await this.client.setAlias(name, alias, prev);
    return { from: Number(cur.version), to: Number(prev) };
  }
  close(): void {}
}
