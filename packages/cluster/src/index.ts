/**
 * @sluice/cluster: Sluice runs on Kubernetes with Argo Workflows. The `sluice` CLI loads it only
 * for cluster verbs. Everything public is exported here.
 */
export { Kube, KubeApiError, KubeConfigError, redact } from './kube.ts';
export type { ConnectOptions, KubeResponse, WatchEvent } from './kube.ts';
export { prepareSubmission, submitObjects, SubmitError, LABELS, BUNDLE_DIR, CONFIGMAP_LIMIT, STOCK_IMAGE, CONTENT_HASH, RUN_ID_LABEL } from './submit.ts';
export type { Submission, SubmitResult, CodeMode, PrepareOptions } from './submit.ts';
export { ArgoBackend, RunUsageError, POD_NODE_ID } from './backend.ts';
export { clusterTasks, eventsBetween, hydrateWorkflow, readSourceMap, runStatus, argoNodeId, SOURCE_MAP_ANNOTATION } from './nodes.ts';
export type { ArgoNode, ClusterTask, ClusterTaskState, SourceMapLike, WorkflowLike } from './nodes.ts';
export { formulateRetry, formulateResubmit, RetryError, LABEL_RESUBMITTED_FROM } from './retry.ts';
export { registerCluster, clusterRuns, clusterShow, clusterLogs, exitCodeOf, formatClusterOutputs } from './cli.ts';
export type { ClusterCliDeps } from './cli.ts';
export { buildContext } from './build.ts';
export type { BuildOptions, BuildResult } from './build.ts';
export { ArgoRunBackend } from './seam.ts';
export { runOutputs, runArtifacts, recordedArtifacts, readOutputSpecs, OUTPUTS_ANNOTATION } from './outputs.ts';
export type { ClusterOutputArtifact, OutputSpecLike, RecordedArtifact } from './outputs.ts';
