import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { repoRoot } from './paths.ts';

// `yaml` is a dependency of packages/compiler, not of the root: load it from there.
const requireFromCompiler = createRequire(path.join(repoRoot, 'packages/compiler/package.json'));

interface YamlDocument {
  errors: { message: string }[];
  toJS(): unknown;
}
interface YamlModule {
  parseAllDocuments(text: string): YamlDocument[] | { errors: { message: string }[] };
}

let yamlModule: YamlModule | undefined;
function yaml(): YamlModule {
  yamlModule ??= requireFromCompiler('yaml') as YamlModule;
  return yamlModule;
}

export interface Manifest {
  /** 0-based index of the YAML document in its file. */
  index: number;
  /** `Kind/name` (or `Kind/generateName*`), for messages. */
  label: string;
  object: Record<string, unknown>;
}

/** The Kubernetes objects (documents with apiVersion and kind) of a YAML file, in order. */
export function readManifests(file: string): Manifest[] {
  const text = readFileSync(path.resolve(repoRoot, file), 'utf8');
  const docs = yaml().parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${file}: ${docs.errors.map((e) => e.message).join('; ')}`);
  const out: Manifest[] = [];
  docs.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      throw new Error(`${file} document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const obj = doc.toJS();
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return;
    const o = obj as Record<string, unknown>;
    if (typeof o.apiVersion !== 'string' || typeof o.kind !== 'string') return;
    const meta = (o.metadata ?? {}) as { name?: string; generateName?: string };
    out.push({ index, label: `${o.kind}/${meta.name ?? `${meta.generateName ?? ''}*`}`, object: o });
  });
  return out;
}
