// The tasks of co-partitioned source topics: one task `0_<partition>` per partition number.

import { AssignorError } from '../errors.js';
import type { AssignmentTask } from '../plan.js';
import { formatTaskId, parseTaskId } from '../task-id.js';

/** The one subtopology of a plain subscription: every source topic feeds it. */
export const SOURCE_SUBTOPOLOGY = 0;

/**
 * The task list for source topics that must be co-partitioned. `partitionCounts` maps each topic to its
 * partition count; a count of 0 means the leader has no metadata for the topic (returns `undefined`).
 * Different counts throw `ASSIGNOR_INVALID_INPUT`: records with one key would land in different tasks.
 */
export function sourceTasks(
  partitionCounts: ReadonlyMap<string, number>,
  stateful: boolean,
): AssignmentTask[] | undefined {
  let count: number | undefined;
  for (const [topic, n] of partitionCounts) {
    if (n === 0) return undefined;
    if (count !== undefined && n !== count) {
      const described = [...partitionCounts].map(([t, c]) => `${t}=${c}`).join(', ');
      throw new AssignorError(
        'ASSIGNOR_INVALID_INPUT',
        `source topics are not co-partitioned (${described}); topic ${topic} differs`,
      );
    }
    count = n;
  }
  const tasks: AssignmentTask[] = [];
  for (let p = 0; p < (count ?? 0); p++) tasks.push({ id: formatTaskId(SOURCE_SUBTOPOLOGY, p), stateful });
  return tasks;
}

/** The partition numbers of a member's tasks, sorted. */
export function partitionsOf(taskIds: readonly string[]): number[] {
  return taskIds.map((id) => parseTaskId(id).partition).sort((a, b) => a - b);
}
