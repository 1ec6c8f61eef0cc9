// The topics an app needs and their partition counts: each subtopology's task count, repartition and changelog topics.
import { StreamsError } from '../errors.js';
import type { AdminPort, TopicSpec } from '../kafka/port.js';
import type { SealedTopology } from '../topology/topology.js';
import { changelogTopicSpecs } from './changelog-topics.js';
import { TaskId } from './task-id.js';

/** Repartition topics keep records until the app deletes those below its committed offsets. */
const REPARTITION_TOPIC_CONFIG = { 'cleanup.policy': 'delete', 'retention.ms': '-1' };

export interface TopicLayout {
  /** Subtopology id → its partition count (= its task count). */
  readonly partitions: ReadonlyMap<number, number>;
  readonly repartitionTopics: readonly TopicSpec[];
  /** The changelog topics of the logged stores, each with its store's subtopology's partition count. */
  readonly changelogTopics: readonly (TopicSpec & { subtopology: number })[];
  /** Every task of the app, in subtopology then partition order. */
  readonly tasks: readonly TaskId[];
  /** The tasks of subtopologies with stores. */
  readonly statefulTasks: readonly TaskId[];
}

/**
 * Works out every subtopology's partition count from the user topics' counts (`userTopicCounts`): the common count
 * of its source topics, where a repartition topic has its configured count, else the count of the other inputs of
 * the subtopology that reads it when those have a fixed one (user topics or configured repartition topics: it is
 * co-partitioned with them, as the two sides of a join), else the largest among the subtopologies that write it
 * or another such topic the same subtopology reads. A topic marked `copartitionWithReader` always takes its reader's
 * count (its records are sent to chosen partitions of the reader, e.g. the answers of a foreign-key join).
 * Throws PARTITION_COUNT_MISMATCH when a subtopology's sources differ.
 */
export function resolveTopicLayout(
  graph: SealedTopology,
  userTopicCounts: ReadonlyMap<string, number>,
  additionalChangelogRetentionMs?: number,
): TopicLayout {
  const repartitionByTopic = new Map(graph.repartitionTopics.map((r) => [r.topic, r]));
  const partitions = new Map<number, number>();
  const subtopologies = new Map(graph.subtopologies.map((s) => [s.id, s]));
  // The largest count among a subtopology's inputs whose count is fixed (user topics, configured repartition topics).
  const fixedCount = (sub: number): number | undefined => {
    const counts = (subtopologies.get(sub)?.sourceTopics ?? []).flatMap((t) => {
      const internal = repartitionByTopic.get(t);
      const n = internal === undefined ? userTopicCounts.get(t) : internal.partitions;
      return n === undefined ? [] : [n];
    });
    return counts.length === 0 ? undefined : Math.max(...counts);
  };
  const topicCount = (topic: string): number | undefined => {
    const internal = repartitionByTopic.get(topic);
    if (internal === undefined) return userTopicCounts.get(topic);
    if (internal.partitions !== undefined) return internal.partitions;
    if (internal.copartitionWithReader) return partitions.get(internal.reader);
    // Co-partitioned with the reader's other inputs (e.g. the other side of a join): their count wins.
    const copartitioned = fixedCount(internal.reader);
    if (copartitioned !== undefined) return copartitioned;
    // Else the largest count among the writers of every such topic the reader reads (both sides rekeyed).
    const writers = graph.repartitionTopics
      .filter((r) => r.reader === internal.reader && r.partitions === undefined)
      .flatMap((r) => r.writers)
      .map((w) => partitions.get(w));
    return writers.some((c) => c === undefined) ? undefined : Math.max(...(writers as number[]));
  };
  // Each pass resolves at least one more subtopology unless repartition topics form a cycle.
  for (
    let pass = 0;
    pass <= graph.subtopologies.length && partitions.size < graph.subtopologies.length;
    pass++
  ) {
    for (const sub of graph.subtopologies) {
      if (partitions.has(sub.id)) continue;
      // Topics that take this subtopology's count follow the others.
      const counts = sub.sourceTopics
        .filter((t) => repartitionByTopic.get(t)?.copartitionWithReader !== true)
        .map((t) => [t, topicCount(t)] as const);
      if (counts.length === 0) {
        throw new StreamsError(
          'INVALID_TOPOLOGY',
          `subtopology ${sub.id} reads only repartition topics that take its partition count; give one a count`,
        );
      }
      if (counts.some(([, n]) => n === undefined)) continue;
      const first = counts[0]![1]!;
      if (counts.some(([, n]) => n !== first)) {
        throw new StreamsError(
          'PARTITION_COUNT_MISMATCH',
          `the source topics of subtopology ${sub.id} must be co-partitioned (the same partition count): ${counts
            .map(([t, n]) => `${t}=${n}`)
            .join(
              ', ',
            )}; the inputs of a join or of one processor must be, so recreate one topic with the other's count, ` +
            'or send one side through `repartition({ numberOfPartitions })` first',
        );
      }
      partitions.set(sub.id, first);
    }
  }
  if (partitions.size < graph.subtopologies.length) {
    throw new StreamsError(
      'INVALID_TOPOLOGY',
      'the partition counts of the repartition topics depend on each other in a cycle; give one a partition count',
    );
  }
  const repartitionTopics = graph.repartitionTopics.map(
    (r): TopicSpec => ({
      topic: r.topic,
      partitions: topicCount(r.topic)!,
      config: { ...REPARTITION_TOPIC_CONFIG },
    }),
  );
  const changelogTopics = graph.subtopologies.flatMap((sub) =>
    changelogTopicSpecs(
      graph.applicationId,
      sub.stores,
      partitions.get(sub.id)!,
      additionalChangelogRetentionMs,
    ).map((spec) => ({
      ...spec,
      subtopology: sub.id,
    })),
  );
  const tasks: TaskId[] = [];
  const statefulTasks: TaskId[] = [];
  for (const sub of graph.subtopologies) {
    for (let p = 0; p < partitions.get(sub.id)!; p++) {
      tasks.push(TaskId.of(sub.id, p));
      if (sub.stores.length > 0) statefulTasks.push(TaskId.of(sub.id, p));
    }
  }
  return { partitions, repartitionTopics, changelogTopics, tasks, statefulTasks };
}

/**
 * Creates the internal topics that are missing, with `replicationFactor` (-1: the broker's default); one that exists
 * must have the partition count the app needs (its partitions are tasks, and state and records are keyed by them).
 */
export async function ensureInternalTopics(
  admin: AdminPort,
  specs: readonly TopicSpec[],
  replicationFactor = -1,
): Promise<void> {
  if (specs.length === 0) return;
  const counts = await admin.partitionCounts(specs.map((s) => s.topic));
  for (const spec of specs) {
    const n = counts.get(spec.topic);
    if (n !== undefined && n !== spec.partitions) {
      throw new StreamsError(
        'PARTITION_COUNT_MISMATCH',
        `internal topic ${spec.topic} has ${n} partitions but the app needs ${spec.partitions}; ` +
          'delete it (a changelog is rebuilt from the input, a repartition topic refilled) or restore the source ' +
          'topics to the partition count the app was started with',
      );
    }
  }
  const missing = specs.filter((s) => !counts.has(s.topic)).map((s) => ({ ...s, replicationFactor }));
  if (missing.length > 0) await admin.createTopics(missing);
}
