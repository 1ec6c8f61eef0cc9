// Interactive-query routing: which instance hosts key K of store S, from the group's latest assignment.
import { createQueryRouter, type HostTasks, isAssignorError, type QueryRouter } from '@eddy/assignor';
import { StreamsError } from '../errors.js';

/** Where a key of a store lives. */
export interface KeyQueryMetadata {
  /** The task holding the key, `<subtopology>_<partition>`. */
  readonly taskId: string;
  readonly partition: number;
  /** `applicationServer` of the instance running the task as active; undefined while none is known. */
  readonly active: string | undefined;
  /** `applicationServer`s of instances with a standby replica of the task. */
  readonly standbys: readonly string[];
}

/** One instance of the application, as the group's latest assignment describes it. */
export interface StreamsMetadata {
  readonly endpoint: string;
  readonly activeTasks: readonly string[];
  readonly standbyTasks: readonly string[];
}

/** The routing view of one assignment: built once per rebalance, then each lookup hashes the key. */
export class QueryMetadata {
  private readonly router: QueryRouter;

  private readonly storeNames: readonly string[];

  /**
   * `storeSubtopologies`: each store's subtopology; `partitions`: each subtopology's partition count (a store's keys
   * are spread over the partitions of its subtopology).
   */
  constructor(
    private readonly hostOf: ReadonlyMap<string, HostTasks>,
    private readonly storeSubtopologies: ReadonlyMap<string, number>,
    private readonly partitions: ReadonlyMap<number, number>,
  ) {
    this.storeNames = [...storeSubtopologies.keys()];
    this.router = createQueryRouter({ hostOf, storeSubtopologies });
  }

  /** The hosts of `keyBytes` (the key serialized as the input topic's producer wrote it) in `storeName`. */
  forKey(storeName: string, keyBytes: Uint8Array): KeyQueryMetadata {
    try {
      const subtopology = this.storeSubtopologies.get(storeName);
      const partitions = subtopology === undefined ? 1 : (this.partitions.get(subtopology) ?? 1);
      const { taskId, partition, active, standbys } = this.router.hostFor(storeName, keyBytes, partitions);
      return { taskId, partition, active, standbys };
    } catch (err) {
      if (isAssignorError(err, 'ASSIGNOR_UNKNOWN_STORE')) {
        throw new StreamsError(
          'UNKNOWN_STORE',
          `the topology has no store ${JSON.stringify(storeName)}; it has ${this.storeNames.join(', ') || 'none'}`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  /** Every instance that announced an `applicationServer`, sorted by endpoint. */
  all(): StreamsMetadata[] {
    return [...this.hostOf.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([endpoint, tasks]) => ({ endpoint, activeTasks: tasks.active, standbyTasks: tasks.standby }));
  }
}
