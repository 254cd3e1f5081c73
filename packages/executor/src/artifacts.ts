import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InputArtifact, JsonValue, MetricsOutput, OutputArtifact } from '@sluice/sdk';

/** How the executor is told about one input artifact. */
export interface ArtifactInputSpec {
  readonly path: string;
  readonly type: string;
  readonly uri?: string;
  readonly hash?: string;
  readonly metadata?: { readonly [key: string]: JsonValue };
}

export function inputArtifact(spec: ArtifactInputSpec): InputArtifact {
  return {
    type: spec.type,
    uri: spec.uri ?? pathToFileURL(spec.path).href,
    path: spec.path,
    metadata: spec.metadata ?? {},
    contentHash: spec.hash,
    read: () => readFile(spec.path),
    readText: () => readFile(spec.path, 'utf8'),
    readJson: async <V>() => JSON.parse(await readFile(spec.path, 'utf8')) as V,
  };
}

export class OutputArtifactImpl implements OutputArtifact {
  readonly type: string;
  readonly path: string;
  readonly uri: string;
  readonly metadata: { [key: string]: JsonValue } = {};
  constructor(type: string, path: string) {
    this.type = type;
    this.path = path;
    this.uri = pathToFileURL(path).href;
    mkdirSync(dirname(path), { recursive: true });
  }
  async write(data: string | Uint8Array): Promise<void> {
    await writeFile(this.path, data);
  }
  async writeJson(value: unknown): Promise<void> {
    await writeFile(this.path, JSON.stringify(value, null, 2));
  }
  async copyFrom(source: string): Promise<void> {
    rmSync(this.path, { recursive: true, force: true });
    cpSync(source, this.path, { recursive: true });
  }
}

export class MetricsOutputImpl extends OutputArtifactImpl implements MetricsOutput {
  declare readonly type: 'Metrics';
  private readonly logged: Record<string, number> = {};
  written = false;
  constructor(path: string) {
    super('Metrics', path);
  }
  /** Set by the executor: a Metrics value is also a tracking metric. */
  onLog: ((name: string, value: number) => void) | undefined;
  log(name: string, value: number): void {
    this.logged[name] = value;
    this.onLog?.(name, value);
  }
  get values(): { readonly [name: string]: number } {
    return { ...this.logged };
  }
  override async write(data: string | Uint8Array): Promise<void> {
    this.written = true;
    await super.write(data);
  }
  override async writeJson(value: unknown): Promise<void> {
    this.written = true;
    await super.writeJson(value);
  }
  override async copyFrom(source: string): Promise<void> {
    this.written = true;
    await super.copyFrom(source);
  }
}
