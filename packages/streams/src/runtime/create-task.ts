// Builds a StreamTask wired to its stores: the one way the task manager, the test driver and the benchmarks make tasks.
import type { TaskStateManager } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import { StreamsError } from '../errors.js';
import type { SealedTopology } from '../topology/topology.js';
import type { RecordCollector } from './record-collector.js';
import { StreamTask } from './stream-task.js';
import type { TaskId } from './task-id.js';
import type { TaskState } from './task-state.js';

export interface CreateTaskOptions {
  id: TaskId;
  graph: SealedTopology;
  config: Pick<ResolvedConfig, 'applicationId' | 'deserializationErrors' | 'processingErrors' | 'logger'> &
    Partial<Pick<ResolvedConfig, 'maxTaskIdleMs'>>;
  collector: RecordCollector;
  /** The task's stores, open and restored (from `createTaskState`); undefined for a subtopology without stores. */
  state: TaskState | undefined;
  /** Wall-clock time source (the test driver replaces it). */
  clock?: () => number;
  /** Per source topic, input already committed elsewhere (exactly-once, read after fencing): skipped too. */
  committedUpTo?: ReadonlyMap<string, number>;
}

/**
 * Per source topic, the offset up to which the task's logged stores hold the input's effect (the task's replay
 * point, see `TaskStateManager.replayPoint`). Those records are skipped on replay: their state changes are in the
 * stores and their outputs were acknowledged before the changelog transaction that carries the mark.
 */
export function replayedUpTo(state: TaskStateManager, id: TaskId): Map<string, number> {
  const out = new Map<string, number>();
  for (const mark of state.replayPoint()) {
    if (mark.partition === id.partition && mark.offset >= 0) out.set(mark.topic, mark.offset);
  }
  return out;
}

export function createTask(options: CreateTaskOptions): StreamTask {
  const { id, graph, config, state } = options;
  const manager = state?.state;
  // Input at or below the higher of the stores' replay point and the committed offsets is skipped.
  const skip = new Map(options.committedUpTo);
  if (manager !== undefined) {
    for (const [topic, offset] of replayedUpTo(manager, id))
      skip.set(topic, Math.max(offset, skip.get(topic) ?? -1));
  }
  return new StreamTask({
    id,
    graph,
    applicationId: config.applicationId,
    collector: options.collector,
    deserializationErrors: config.deserializationErrors,
    processingErrors: config.processingErrors,
    logger: config.logger,
    ...(config.maxTaskIdleMs === undefined ? {} : { maxTaskIdleMs: config.maxTaskIdleMs }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(skip.size === 0 ? {} : { replayedUpTo: skip }),
    ...(manager === undefined
      ? {}
      : {
          stores: {
            store: (name: string) => {
              if (!state!.stores.has(name)) {
                throw new StreamsError('INVALID_TOPOLOGY', `task ${id} has no store named ${name}`);
              }
              return state!.stores.get(name);
            },
            setSourcePosition: (topic: string, p: number, offset: number) =>
              manager.setSourcePosition(topic, p, offset),
            completeSourceRecord: () => manager.completeSourceRecord(),
          },
        }),
  });
}
