/**
 * Artifact types: files or directories passed between tasks by reference.
 */

/** A named artifact type. Use the built-ins or make your own with `artifactType`. */
export interface ArtifactType<N extends string = string> {
  readonly kind: 'artifactType';
  readonly name: N;
  readonly list: false;
  readonly description?: string;
}

/** A list of artifacts of one type: the input of a fan-in task that collects a loop's outputs. */
export interface ArtifactListType<N extends string = string> {
  readonly kind: 'artifactType';
  readonly name: N;
  readonly list: true;
}

/**
 * Declares an artifact type. Names are dotted identifiers; user types should carry a prefix.
 *
 * @example
 * export const Embeddings = artifactType('acme.Embeddings');
 * const embed = component({ name: 'embed', inputs: { docs: Dataset }, outputs: { vectors: Embeddings }, ... });
 */
export function artifactType<const N extends string>(name: N, description?: string): ArtifactType<N> {
  if (!/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/.test(name)) {
    throw new TypeError(`artifactType: "${name}" is not a valid artifact type name (letters, digits, _ and dots, starting with a letter)`);
  }
  return Object.freeze({ kind: 'artifactType', name, list: false, ...(description ? { description } : {}) }) as ArtifactType<N>;
}

/**
 * The input type of a fan-in task that receives one artifact per loop iteration.
 *
 * @example
 * const pickBest = component({ name: 'pick-best', inputs: { metrics: listOf(Metrics) }, ... });
 */
export function listOf<N extends string>(type: ArtifactType<N>): ArtifactListType<N> {
  return Object.freeze({ kind: 'artifactType', name: type.name, list: true }) as ArtifactListType<N>;
}

/** A data set: a file or directory of records (CSV, Parquet, JSON lines, ...). */
export const Dataset = artifactType('Dataset', 'A data set: a file or directory of records.');
/** A trained model in any serialisation. */
export const Model = artifactType('Model', 'A trained model.');
/** Scalar metrics (name/value pairs) stored as JSON; `ctx.outputs.m.log('accuracy', 0.9)`. */
export const Metrics = artifactType('Metrics', 'Scalar metrics as JSON name/value pairs.');
/** Any artifact; an input of this type accepts every artifact type. */
export const Artifact = artifactType('Artifact', 'Any file or directory.');

export function isArtifactType(x: unknown): x is ArtifactType | ArtifactListType {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'artifactType';
}
