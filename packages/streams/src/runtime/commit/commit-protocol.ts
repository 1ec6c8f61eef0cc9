// The commit protocol: how output, state and input positions become durable together, one implementation per guarantee.
import type { TopicPartitionOffset } from '../../kafka/port.js';

/** The points between the steps of an at-least-once commit, for fault-injection tests of the commit protocol. */
export type CommitPhase = 'outputs-acked' | 'changelog-acked' | 'state-written';

export interface CommitProtocol {
  /**
   * Makes the output, the state and the input positions of every ready task durable, in this guarantee's order.
   * Resolves with the input offsets it committed.
   */
  commit(): Promise<TopicPartitionOffset[]>;
  /** Between commits, after a batch: sends buffered output (at-least-once); a transaction keeps it (exactly-once). */
  flushOutput(): Promise<void>;
  /** Offset commits that went through. */
  readonly commits: number;
  /** Changelog records written. */
  readonly changelogRecords: number;
}
