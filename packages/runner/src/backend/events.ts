/**
 * What a run reports as it goes: the RunEvent union lives in `@sluice/sdk` (`src/run/events.ts`),
 * the one module the runner and `@sluice/cluster` share (neither depends on the other's code);
 * re-exported here under the runner's names.
 */
export { RUN_EVENT_TYPES, eventKey, eventFields } from '@sluice/sdk';
export type {
  RunOutputArtifact as OutputArtifact, RunOutputValue as OutputValue, RunStartedEvent, RunResumedEvent, RunWaitingEvent, RunFinishedEvent, TaskWaitingEvent, TaskStartedEvent, TaskRetryingEvent, TaskSucceededEvent, TaskCachedEvent, TaskFailedEvent, TaskSkippedEvent, TaskOmittedEvent, TaskResumedEvent, ConditionDecidedEvent, WarningEvent, RunEvent, RunEventType, EventOf, EventFields,
} from '@sluice/sdk';
