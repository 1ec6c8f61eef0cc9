// Query routing: which endpoint hosts key K of store S, from the assignment's host map.

import { AssignorError } from './errors.js';
import { partitionForKey } from './murmur2.js';
import type { HostTasks } from './plan.js';
import { formatTaskId } from './task-id.js';

export interface QueryRoutingMetadata {
  /** endpoint → tasks, as in the assignment plan or a decoded assignment. */
  readonly hostOf: ReadonlyMap<string, HostTasks>;
  /** store name → the subtopology whose tasks hold it. */
  readonly storeSubtopologies: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
}

/** Where a key lives. `active` is undefined while no endpoint hosts the task. */
export interface KeyLocation {
  readonly taskId: string;
  readonly partition: number;
  readonly active: string | undefined;
  /** Endpoints with a standby of the task, sorted. */
  readonly standbys: readonly string[];
}

export interface QueryRouter {
  /**
   * The endpoints hosting `key` of `storeName`, partitioned as Kafka's default partitioner does over
   * `numPartitions`. Throws `ASSIGNOR_UNKNOWN_STORE` for a store the metadata does not know.
   */
  hostFor(storeName: string, key: Uint8Array, numPartitions: number): KeyLocation;
}

/** Indexes the host map once; each lookup is then a hash and two map reads. */
export function createQueryRouter(metadata: QueryRoutingMetadata): QueryRouter {
  const stores =
    metadata.storeSubtopologies instanceof Map
      ? new Map(metadata.storeSubtopologies)
      : new Map(Object.entries(metadata.storeSubtopologies));
  const activeHost = new Map<string, string>();
  const standbyHosts = new Map<string, string[]>();
  const endpoints = [...metadata.hostOf.keys()].sort();
  for (const endpoint of endpoints) {
    const tasks = metadata.hostOf.get(endpoint)!;
    for (const id of tasks.active) if (!activeHost.has(id)) activeHost.set(id, endpoint);
    for (const id of tasks.standby) {
      const list = standbyHosts.get(id);
      if (list === undefined) standbyHosts.set(id, [endpoint]);
      else list.push(endpoint);
    }
  }
  return {
    hostFor(storeName, key, numPartitions) {
      const subtopology = stores.get(storeName);
      if (subtopology === undefined) {
        throw new AssignorError('ASSIGNOR_UNKNOWN_STORE', `no routing metadata for store ${storeName}`);
      }
      if (!Number.isSafeInteger(numPartitions) || numPartitions < 1) {
        throw new AssignorError('ASSIGNOR_INVALID_INPUT', `numPartitions must be >= 1, got ${numPartitions}`);
      }
      const partition = partitionForKey(key, numPartitions);
      const taskId = formatTaskId(subtopology, partition);
      return {
        taskId,
        partition,
        active: activeHost.get(taskId),
        standbys: standbyHosts.get(taskId) ?? [],
      };
    },
  };
}
