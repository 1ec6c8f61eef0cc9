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
  /**
   * Between commits, after a batch. At-least-once: waits for the previous send of output, rejecting with its failure,
   * then starts sending the buffered output without waiting for it. Exactly-once: nothing (a transaction keeps it).
   */
  flushOutput(): Promise<void>;
  /** True when flushOutput has output to send, or a failed send to report, without waiting for a send under way. */
  readonly outputWaiting: boolean;
  /** Offset commits that went through. */
  readonly commits: number;
  /** Changelog records written. */
  readonly changelogRecords: number;
}
