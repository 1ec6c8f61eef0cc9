// Tasks from the source topics of each subtopology, the partitions a task fetches, and partition-count checks.

import type { AssignmentErrorCode } from './codec.js';
import type { AssignmentTask } from './plan.js';
import { formatTaskId, parseTaskId } from './task-id.js';

/** The source topics of one subtopology. They are co-partitioned: task `<subtopology>_<p>` reads partition p of each. */
export interface TopicGroup {
  readonly subtopology: number;
  /** Input topics and repartition topics the subtopology reads. */
  readonly sourceTopics: readonly string[];
  /** Whether the subtopology's tasks hold state (their lags count when placing them). */
  readonly stateful: boolean;
}

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** The tasks of a group, or why there are none this time. */
export type TaskPlan =
  | { readonly tasks: AssignmentTask[] }
  | { readonly error: Exclude<AssignmentErrorCode, 'NONE'>; readonly reason: string };

/**
 * One task per partition of each subtopology. `partitionCount(topic)` is the leader's metadata, 0 when it has
 * none (INCOMPLETE_SOURCE_TOPIC_METADATA: a topic that is still being created or was deleted). A count other than
 * `expectedPartitions` (what the application validated at start) or co-partitioned topics of different counts mean
 * the topic changed under the running application: SOURCE_TOPIC_PARTITIONS_CHANGED.
 */
export function planTasks(
  topicGroups: readonly TopicGroup[],
  partitionCount: (topic: string) => number,
  expectedPartitions: ReadonlyMap<string, number> | undefined,
): TaskPlan {
  const counted = topicGroups.map((g) => g.sourceTopics.map((t) => [t, partitionCount(t)] as const));
  const unknown = counted.flat().filter(([, n]) => n === 0);
  if (unknown.length > 0) {
    return {
      error: 'INCOMPLETE_SOURCE_TOPIC_METADATA',
      reason: `no metadata for source topic(s) ${unknown.map(([t]) => t).join(', ')}`,
    };
  }
  const changed = counted
    .flat()
    .filter(([t, n]) => expectedPartitions?.has(t) === true && expectedPartitions.get(t) !== n);
  if (changed.length > 0) {
    return {
      error: 'SOURCE_TOPIC_PARTITIONS_CHANGED',
      reason: changed
        .map(
          ([t, n]) => `${t} has ${n} partitions, the application started with ${expectedPartitions?.get(t)}`,
        )
        .join('; '),
    };
  }
  const tasks: AssignmentTask[] = [];
  for (const [i, group] of topicGroups.entries()) {
    const counts = counted[i]!;
    const first = counts[0];
    if (first === undefined) continue;
    if (counts.some(([, n]) => n !== first[1])) {
      return {
        error: 'SOURCE_TOPIC_PARTITIONS_CHANGED',
        reason: `co-partitioned source topics of subtopology ${group.subtopology} differ: ${counts
          .map(([t, n]) => `${t}=${n}`)
          .join(', ')}`,
      };
    }
    for (let p = 0; p < first[1]; p++) {
      tasks.push({ id: formatTaskId(group.subtopology, p), stateful: group.stateful });
    }
  }
  return { tasks };
}

/** The partitions active tasks fetch: partition p of every source topic of the task's subtopology, sorted. */
export function partitionsOfTasks(
  taskIds: readonly string[],
  topicGroups: readonly TopicGroup[],
): TopicPartition[] {
  const topicsOf = new Map(topicGroups.map((g) => [g.subtopology, g.sourceTopics]));
  const out: TopicPartition[] = [];
  for (const id of taskIds) {
    const { subtopology, partition } = parseTaskId(id);
    for (const topic of topicsOf.get(subtopology) ?? []) out.push({ topic, partition });
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** The partition numbers of tasks, sorted. */
export function partitionsOf(taskIds: readonly string[]): number[] {
  return taskIds.map((id) => parseTaskId(id).partition).sort((a, b) => a - b);
}
