// Builds a StreamTask wired to its stores: the one way the task manager, the test driver and the benchmarks make tasks.
import type { ResolvedConfig } from '../config.js';
import { StreamsError } from '../errors.js';
import type { DropReason } from '../topology/processor.js';
import type { SealedTopology } from '../topology/topology.js';
import type { TaskInFlight } from './crash-guard.js';
import type { RecordCollector } from './record-collector.js';
import { StreamTask, type TaskOptions } from './stream-task.js';
import type { TaskId } from './task-id.js';
import type { TaskState } from './task-state.js';

export interface CreateTaskOptions {
  id: TaskId;
  graph: SealedTopology;
  config: Pick<ResolvedConfig, 'applicationId' | 'deserializationErrors' | 'processingErrors' | 'logger'> &
    Partial<Pick<ResolvedConfig, 'maxTaskIdleMs' | 'tracing' | 'crashLoop' | 'maxRecordBytes'>>;
  collector: RecordCollector;
  /** The task's stores, open and restored (from `createTaskState`); undefined for a subtopology without stores. */
  state: TaskState | undefined;
  /** Wall-clock time source (the test driver replaces it). */
  clock?: () => number;
  /** Per source topic, input already committed elsewhere (exactly-once, read after fencing): skipped too. */
  committedUpTo?: ReadonlyMap<string, number>;
  /** Told of each record a processor dropped on purpose. */
  onDropped?: (reason: DropReason) => void;
  /** The instance's global stores by name (`GlobalState.stores`). */
  globalStores?: ReadonlyMap<string, unknown>;
  /** Marks the task's input in flight for crash-loop protection (`CrashGuard.forTask`). */
  inFlight?: TaskInFlight;
  /** See `TaskOptions.outputLatency`. */
  outputLatency?: TaskOptions['outputLatency'];
}

export function createTask(options: CreateTaskOptions): StreamTask {
  const { id, graph, config, state } = options;
  const manager = state?.state;
  const ownTopics = new Set(graph.subtopologies[id.subtopology]?.sourceTopics ?? []);
  // Input at or below the higher of the stores' replay point and the committed offsets is skipped.
  const skip = new Map(options.committedUpTo);
  const upstreamMarks = new Map<string, number>();
  for (const mark of manager?.replayPoint() ?? []) {
    if (!ownTopics.has(mark.topic)) {
      // The position of an upstream input whose records reach this task through a repartition topic
      // (`upstreamMarkTopic`: one per upstream input and repartition topic).
      upstreamMarks.set(`${mark.topic}:${mark.partition}`, mark.offset);
    } else if (mark.partition === id.partition && mark.offset >= 0) {
      skip.set(mark.topic, Math.max(mark.offset, skip.get(mark.topic) ?? -1));
    }
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
    ...(config.maxRecordBytes === undefined ? {} : { maxRecordBytes: config.maxRecordBytes }),
    ...(config.tracing === undefined ? {} : { tracing: config.tracing }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    ...(options.onDropped === undefined ? {} : { onDropped: options.onDropped }),
    ...(options.globalStores === undefined ? {} : { globalStores: options.globalStores }),
    ...(options.inFlight === undefined ? {} : { inFlight: options.inFlight }),
    ...(options.outputLatency === undefined ? {} : { outputLatency: options.outputLatency }),
    ...(config.crashLoop?.deadLetterTopic === undefined
      ? {}
      : { poisonDeadLetterTopic: config.crashLoop.deadLetterTopic }),
    ...(skip.size === 0 ? {} : { replayedUpTo: skip }),
    ...(upstreamMarks.size === 0 ? {} : { upstreamMarks }),
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
            advanceUpstream: (topic: string, p: number, mark: number) =>
              manager.advancePosition(topic, p, mark),
          },
        }),
  });
}
