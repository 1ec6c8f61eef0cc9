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
  config: Pick<ResolvedConfig, 'applicationId' | 'deserializationErrors' | 'processingErrors' | 'logger'>;
  collector: RecordCollector;
  /** The task's stores, open and restored (from `createTaskState`); undefined for a subtopology without stores. */
  state: TaskState | undefined;
  /** Wall-clock time source (the test driver replaces it). */
  clock?: () => number;
}

/**
 * Per source topic, the offset up to which every store of the task already holds the input's effect (the lowest
 * source mark among the stores). Those records are skipped on replay: their state changes are in the stores and
 * their outputs were acknowledged before the changelog records that carry the marks were written.
 */
export function replayedUpTo(
  state: TaskStateManager,
  graph: SealedTopology,
  id: TaskId,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const topic of graph.subtopologies[id.subtopology]?.sourceTopics ?? []) {
    let lowest = Number.POSITIVE_INFINITY;
    for (const name of state.storeNames()) {
      const mark = state.sourceMarks(name).find((m) => m.topic === topic && m.partition === id.partition);
      lowest = Math.min(lowest, mark?.offset ?? -1);
    }
    if (Number.isFinite(lowest) && lowest >= 0) out.set(topic, lowest);
  }
  return out;
}

export function createTask(options: CreateTaskOptions): StreamTask {
  const { id, graph, config, state } = options;
  const manager = state?.state;
  return new StreamTask({
    id,
    graph,
    applicationId: config.applicationId,
    collector: options.collector,
    deserializationErrors: config.deserializationErrors,
    processingErrors: config.processingErrors,
    logger: config.logger,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(manager === undefined
      ? {}
      : {
          replayedUpTo: replayedUpTo(manager, graph, id),
          stores: {
            store: (name: string) => {
              if (!state!.stores.has(name)) {
                throw new StreamsError('INVALID_TOPOLOGY', `task ${id} has no store named ${name}`);
              }
              return state!.stores.get(name);
            },
            setSourcePosition: (topic: string, p: number, offset: number) =>
              manager.setSourcePosition(topic, p, offset),
          },
        }),
  });
}
