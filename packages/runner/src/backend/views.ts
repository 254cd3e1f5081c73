/**
 * What a backend returns about runs: the views live in `@sluice/sdk` (`src/run/views.ts`), the one
 * module the runner and `@sluice/cluster` share; re-exported here.
 */
export type { RunRef, RunStatusView, TaskStateView, TaskCounts, DriverView, RunSummaryView, CacheView, AttemptView, TaskView, ArtifactView, HoldView, RunView, ProducerView, LineageView, LogEntry, RunFilter, WarningView, TaskBriefView, RunOverviewView } from '@sluice/sdk';
