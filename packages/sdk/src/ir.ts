/**
 * The Sluice intermediate representation (IR).
 *
 * Plain, readonly, JSON-serialisable data with a `kind` tag on every node. The SDK's builders
 * produce it; the compiler and the runner consume it; nothing downstream ever sees a user
 * function, a zod schema or a builder. `JSON.parse(JSON.stringify(ir))` is an equal IR.
 *
 * Naming: task ids are unique within one pipeline (or nested pipeline component), whatever
 * their nesting under conditions and loops. Error paths read `pipeline/taskId/inputs.name`.
 */

/** Bump when the IR changes shape; readers reject versions they do not know. */
export const IR_VERSION = 1 as const;

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** The coarse type of a parameter, used for Argo and for type checks between tasks. */
export type ParamType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'any';

/** A parameter (a JSON value passed by value) on a component or pipeline. */
export interface ParameterSpec {
  readonly kind: 'parameter';
  readonly type: ParamType;
  /** JSON Schema (draft 2020-12) produced from the zod schema; the runtime validates against the zod schema itself. */
  readonly schema: JsonObject;
  /** True when the input may be left out (it has a default or is optional). */
  readonly optional: boolean;
  readonly default?: JsonValue;
  readonly description?: string;
}

/** An artifact (a file or directory passed by reference) on a component or pipeline. */
export interface ArtifactSpec {
  readonly kind: 'artifact';
  /** `Dataset`, `Model`, `Metrics`, `Artifact`, or a user-defined name such as `acme.Embeddings`. */
  readonly artifactType: string;
  /** True for a fan-in input that receives a list of artifacts (one per loop iteration). */
  readonly list: boolean;
  readonly optional: boolean;
  readonly description?: string;
}

export type IOSpec = ParameterSpec | ArtifactSpec;

// ---------------------------------------------------------------------------------------------
// Values: what a task input (or a pipeline output, or a predicate operand) is bound to.

/** A constant. Never interpreted: a string containing `{{` stays a string. */
export interface LiteralValue { readonly kind: 'literal'; readonly value: JsonValue }
/** A pipeline parameter (or, inside a nested pipeline component, one of its inputs). */
export interface ParamValue { readonly kind: 'param'; readonly name: string }
/** An output (parameter or artifact) of another task in the same pipeline. */
export interface OutputValue { readonly kind: 'output'; readonly task: string; readonly output: string }
/** The current item of an enclosing loop, or a field of it (`path` walks into objects). */
export interface ItemValue { readonly kind: 'item'; readonly loop: string; readonly path: readonly string[] }
/** Fan-in: the list of one task output over every iteration of a loop (in item order). */
export interface CollectValue { readonly kind: 'collect'; readonly loop: string; readonly task: string; readonly output: string }
/**
 * Data out of a condition: the value of whichever option's task ran. Each option names an
 * output of a task inside one branch of `condition`; every branch supplies one.
 */
export interface OneOfValue { readonly kind: 'oneOf'; readonly condition: string; readonly options: readonly OutputValue[] }
/** The run's final status (`Succeeded`, `Failed` or `Error`); only valid in the exit handler. */
export interface StatusValue { readonly kind: 'status' }

export type ValueIR = LiteralValue | ParamValue | OutputValue | ItemValue | CollectValue | OneOfValue | StatusValue;
export type ValueKind = ValueIR['kind'];

// ---------------------------------------------------------------------------------------------
// Predicates (conditions).

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
/**
 * `as`: how the operands compare, decided by the SDK from their declared types (see the SDK's
 * semantics `compareMode`): `number` when either side is declared numeric, else `text`. Absent in
 * hand-made IR: decided from the literal operands only.
 */
export interface ComparePredicate { readonly kind: 'compare'; readonly op: CompareOp; readonly left: ValueIR; readonly right: ValueIR; readonly as?: 'number' | 'text' }
export interface AndPredicate { readonly kind: 'and'; readonly args: readonly PredicateIR[] }
export interface OrPredicate { readonly kind: 'or'; readonly args: readonly PredicateIR[] }
export interface NotPredicate { readonly kind: 'not'; readonly arg: PredicateIR }
export type PredicateIR = ComparePredicate | AndPredicate | OrPredicate | NotPredicate;
export type PredicateKind = PredicateIR['kind'];

// ---------------------------------------------------------------------------------------------
// Options.

/** Which failures a retry policy retries. Mirrors Argo's `retryPolicy`. */
export type RetryOn =
  /** Every failure: the step failed (user error) or its process/pod died (system error). Argo `Always`. */
  | 'always'
  /** Only user failures: the step threw or exited non-zero. Argo `OnFailure`. */
  | 'failure'
  /** Only system errors: crash, signal, out of memory, preemption. Argo `OnError`. */
  | 'error'
  /** Only transient system errors. Argo `OnTransientError`. */
  | 'transient';

export interface RetryIR {
  /** Retries after the first attempt, one budget for every kind of failure (`limit: 3` means up to 4 attempts; Argo counts the same). */
  readonly limit: number;
  readonly on: RetryOn;
  readonly backoff?: {
    /** Duration string, e.g. `10s`. */
    readonly duration: string;
    readonly factor?: number;
    /** Duration string cap on each single wait, e.g. `5m` (Argo `backoff.cap`). */
    readonly cap?: string;
    /** Duration string cap on the total retry time from the first attempt's start (Argo `backoff.maxDuration`). */
    readonly maxDuration?: string;
    /** Random extra wait, as a fraction of the wait (0..1). Local runner only: Argo has no jitter. */
    readonly jitter?: number;
  };
}

/** Caching of a task. A task with no `cache` option is cached (`CACHE_DEFAULT`; the SDK writes it into `taskDefaults`). */
export interface CacheIR {
  readonly enabled: boolean;
  /** Bump to invalidate earlier cache entries. */
  readonly version?: string;
  /** A custom key (a literal template) replacing the computed key's input part. */
  readonly key?: string;
  /** Entries older than this (duration string) are not used. */
  readonly maxAge?: string;
}

export interface GpuIR {
  readonly count: number;
  readonly type?: string;
  /** `'cpu'`: a local run on a machine without these GPUs runs the step on CPU (with a warning); Argo ignores it. */
  readonly localFallback?: 'cpu';
}

export interface ResourcesIR {
  /** Kubernetes quantities, e.g. `500m`, `2`. */
  readonly cpu?: string;
  /** Kubernetes quantities, e.g. `4Gi`. */
  readonly memory?: string;
  readonly ephemeralStorage?: string;
  readonly gpu?: GpuIR;
}

export interface SecretKeyRefIR { readonly secret: string; readonly key: string }
export interface ConfigMapKeyRefIR { readonly configMap: string; readonly key: string }

export type VolumeIR =
  | { readonly kind: 'secret'; readonly name: string; readonly secret: string; readonly mountPath: string }
  | { readonly kind: 'configMap'; readonly name: string; readonly configMap: string; readonly mountPath: string }
  | { readonly kind: 'pvc'; readonly name: string; readonly claim: string; readonly mountPath: string; readonly readOnly: boolean }
  | { readonly kind: 'emptyDir'; readonly name: string; readonly mountPath: string; readonly medium?: 'Memory'; readonly sizeLimit?: string };

export interface TolerationIR {
  readonly key?: string;
  readonly operator?: 'Exists' | 'Equal';
  readonly value?: string;
  readonly effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  readonly tolerationSeconds?: number;
}

export type ImagePullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/**
 * Mutual exclusion across runs. A mutex is held by one task (or run) at a time; a semaphore's
 * size is read from a config map key (Argo) or given locally. Argo v3.6+/v4 list forms.
 */
export interface SynchronizationIR {
  /** Mutex names. Sorted. */
  readonly mutexes?: readonly string[];
  /** Semaphores sized by a config map key. */
  readonly semaphores?: readonly ConfigMapKeyRefIR[];
}

/** Options of a task (also a component's defaults, and a pipeline's task defaults). All optional. */
export interface TaskOptionsIR {
  readonly displayName?: string;
  readonly retry?: RetryIR;
  readonly cache?: CacheIR;
  /** Whole seconds; the step (and its process tree / pod) is killed after this. */
  readonly timeoutSeconds?: number;
  readonly resources?: ResourcesIR;
  /** Plain environment values (never secrets). Sorted by key. */
  readonly env?: { readonly [name: string]: string };
  /** Environment variables from secrets, by reference only. */
  readonly secretEnv?: { readonly [name: string]: SecretKeyRefIR };
  /** Environment variables from config maps, by reference. */
  readonly configMapEnv?: { readonly [name: string]: ConfigMapKeyRefIR };
  readonly volumes?: readonly VolumeIR[];
  readonly nodeSelector?: { readonly [key: string]: string };
  readonly tolerations?: readonly TolerationIR[];
  /** A Kubernetes `Affinity` object, passed through. */
  readonly affinity?: JsonObject;
  readonly image?: string;
  readonly imagePullPolicy?: ImagePullPolicy;
  readonly serviceAccount?: string;
  readonly labels?: { readonly [key: string]: string };
  readonly annotations?: { readonly [key: string]: string };
  readonly synchronization?: SynchronizationIR;
}

export type PodGCStrategy = 'OnPodCompletion' | 'OnPodSuccess' | 'OnWorkflowCompletion' | 'OnWorkflowSuccess';

export interface PipelineOptionsIR {
  /** Image for function components (one that contains the user's project and `@sluice/runner`). */
  readonly image?: string;
  readonly namespace?: string;
  readonly serviceAccount?: string;
  /** Seconds after completion before the Workflow object is deleted. */
  readonly ttlSeconds?: number;
  readonly podGC?: PodGCStrategy;
  /** Max pods running at once for the whole run. */
  readonly parallelism?: number;
  /** Whole-run deadline in seconds. */
  readonly deadlineSeconds?: number;
  readonly artifactRepositoryRef?: { readonly configMap: string; readonly key: string };
  readonly labels?: { readonly [key: string]: string };
  readonly annotations?: { readonly [key: string]: string };
  /** Whole-run mutexes and semaphores (one run at a time holding a mutex, ...). */
  readonly synchronization?: SynchronizationIR;
  /** Defaults applied under every task's own options. */
  readonly taskDefaults?: TaskOptionsIR;
  /** Experiment tracking (an MLflow server); the token only as a secret reference. */
  readonly tracking?: TrackingIR;
}

/** What a run copies to the MLflow run's artifact store: nothing (URIs only), `Model` artifacts, or every output artifact. */
export type TrackingArtifactsIR = 'none' | 'models' | 'all';

/**
 * A pipeline's tracking settings, plain data. Environment and `sluice run` flags override them
 * (`semantics/tracking.ts` holds the precedence and the variable names).
 */
export interface TrackingIR {
  /** `http(s)://host:port` of an MLflow server, or `embedded` (the run store only). */
  readonly uri?: string;
  /** MLflow experiment name; absent: the pipeline's name. */
  readonly experiment?: string;
  /** A run fails at its start when the server cannot be reached. */
  readonly required?: boolean;
  /** The Kubernetes secret holding the bearer token (`MLFLOW_TRACKING_TOKEN` in pods); never the value. */
  readonly token?: SecretKeyRefIR;
  /** Which output artifacts are uploaded to MLflow (besides their URIs as tags). */
  readonly artifacts?: TrackingArtifactsIR;
}

// ---------------------------------------------------------------------------------------------
// Components. Stored once per pipeline in `PipelineIR.components`, keyed by content hash.

interface ComponentBase {
  readonly name: string;
  readonly description?: string;
  readonly inputs: { readonly [name: string]: IOSpec };
  readonly outputs: { readonly [name: string]: IOSpec };
  /** Options every task of this component starts from. */
  readonly defaults: TaskOptionsIR;
}

/**
 * A TypeScript function run by the Sluice executor (`sluice exec`), locally in a child process
 * or in a pod. The executor finds it by `name` in the registry filled by importing the entry file.
 */
export interface FunctionComponentIR extends ComponentBase {
  readonly kind: 'function';
  /** sha256 (hex) of the function's source text: part of the cache key and of the component hash. */
  readonly codeHash: string;
}

/** One argument of a container command: literal text or a placeholder resolved at run time. */
export type ArgIR =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'inputValue'; readonly input: string }
  | { readonly kind: 'inputPath'; readonly input: string }
  | { readonly kind: 'outputPath'; readonly output: string }
  | { readonly kind: 'concat'; readonly parts: readonly ArgIR[] };
export type ArgKind = ArgIR['kind'];

/** A container image with a command; parameter outputs are read from files at their `outputPath`. */
export interface ContainerComponentIR extends ComponentBase {
  readonly kind: 'container';
  readonly image: string;
  readonly command: readonly ArgIR[];
}

/** A pipeline used as a component inside another pipeline. Its task ids form their own namespace. */
export interface PipelineComponentIR extends ComponentBase {
  readonly kind: 'pipeline';
  readonly dag: readonly NodeIR[];
  /** What each output is bound to inside the sub-pipeline. */
  readonly outputValues: { readonly [name: string]: ValueIR };
}

export type ComponentIR = FunctionComponentIR | ContainerComponentIR | PipelineComponentIR;
export type ComponentKind = ComponentIR['kind'];

// ---------------------------------------------------------------------------------------------
// The graph.

export interface TaskIR {
  readonly kind: 'task';
  /** Unique within the pipeline; a DNS-1123 label starting with a letter (`TASK_ID`). */
  readonly id: string;
  /** Key into `PipelineIR.components`. */
  readonly component: string;
  /** Every input of the component that is given; inputs left out take their default. Sorted by name. */
  readonly inputs: { readonly [name: string]: ValueIR };
  /** Explicit ordering: ids of tasks (or condition/loop nodes) that must finish first. Sorted. */
  readonly after: readonly string[];
  readonly options: TaskOptionsIR;
}

export interface ConditionIR {
  readonly kind: 'condition';
  readonly id: string;
  readonly predicate: PredicateIR;
  readonly then: readonly NodeIR[];
  /** The else branch; empty when there is none. */
  readonly else: readonly NodeIR[];
  readonly after: readonly string[];
}

export interface LoopIR {
  readonly kind: 'loop';
  readonly id: string;
  /** A literal array, a parameter, an upstream (list) output, or an enclosing loop's item. */
  readonly items: ValueIR;
  /** Iterations running at once; absent means unbounded. */
  readonly parallelism?: number;
  readonly body: readonly NodeIR[];
  readonly after: readonly string[];
}

export type NodeIR = TaskIR | ConditionIR | LoopIR;
export type NodeKind = NodeIR['kind'];

export interface PipelineIR {
  readonly kind: 'pipeline';
  readonly irVersion: typeof IR_VERSION;
  readonly name: string;
  readonly description?: string;
  readonly params: { readonly [name: string]: IOSpec };
  readonly outputs: { readonly [name: string]: IOSpec };
  readonly outputValues: { readonly [name: string]: ValueIR };
  /** Every component used anywhere (including inside nested pipelines), keyed by content hash. */
  readonly components: { readonly [hash: string]: ComponentIR };
  readonly dag: readonly NodeIR[];
  /** Runs after everything else whatever the outcome; may read `{ kind: 'status' }`. */
  readonly exitHandler: TaskIR | null;
  readonly options: PipelineOptionsIR;
}
