/**
 * `@sluice/executor`: the pod side of Sluice. Runs one function step of a pipeline (`sluice exec`),
 * in an Argo pod and in the local runner's step processes alike. It depends on the SDK, zod, esbuild and tsx
 * (to load the user's pipeline file) and on nothing of the local runner: a pod image needs no SQLite,
 * no compiler, no CLI.
 */
export { executeStep, readOutputFiles, EXIT } from './step.ts';
export type { StepSpec, StepResult } from './step.ts';
export type { ArtifactInputSpec } from './artifacts.ts';
export { execMain, runExec, parseExecArgs, watchParent } from './main.ts';
export type { ExecArgs } from './main.ts';
export { workerMain, STEP_END } from './worker.ts';
export type { WorkerDone, WorkerRequest } from './worker.ts';
export { resolveCollectedArtifacts, CollectError, ARTIFACT_ORDER_FLAG } from './collect.ts';
export { importModuleFile, importPipelineFile, loadPipelineFile, loadSluicePipeline, toLoadedPipeline } from './load.ts';
export { importThroughBundle, moduleGraphHash, sluiceCacheDir } from './graph-load.ts';
export type { LoadOptions } from './graph-load.ts';
export type { FunctionRuntime, LoadedPipeline, ParseResult } from './types.ts';
export { checkArtifactName } from './names.ts';
export { contentHash } from './content-hash.ts';
export { decodeBase64, parseParamText } from './encoding.ts';
export { crashPoint, crashArmed } from './crash.ts';
export { LineClock, stampStdio, timedLines, timesFileOf } from './log-times.ts';
export type { TimedLine } from './log-times.ts';
export { ExecutorError } from './errors.ts';
export { StepExit, trapExit } from './exit.ts';
export { outputNotWritten, OUTPUT_LAYOUT } from './contract.ts';
