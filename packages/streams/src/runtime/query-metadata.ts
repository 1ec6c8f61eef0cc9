// Interactive-query routing: which instance hosts key K of store S, from the group's latest assignment.
import { createQueryRouter, type HostTasks, isAssignorError, type QueryRouter } from '@eddy/assignor';
import { StreamsError } from '../errors.js';

/** Where a key of a store lives. */
export interface KeyQueryMetadata {
  /** The task holding the key, `0_<partition>`. */
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

  constructor(
    private readonly hostOf: ReadonlyMap<string, HostTasks>,
    private readonly storeNames: readonly string[],
    private readonly partitions: number,
  ) {
    // One subtopology today: every store lives in the tasks `0_<partition>`.
    this.router = createQueryRouter({ hostOf, storeSubtopologies: new Map(storeNames.map((s) => [s, 0])) });
  }

  /** The hosts of `keyBytes` (the key serialized as the input topic's producer wrote it) in `storeName`. */
  forKey(storeName: string, keyBytes: Uint8Array): KeyQueryMetadata {
    try {
      const { taskId, partition, active, standbys } = this.router.hostFor(
        storeName,
        keyBytes,
        this.partitions,
      );
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
