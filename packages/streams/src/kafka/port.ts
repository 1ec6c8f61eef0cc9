// The Kafka client port: the small interface the runtime uses to talk to Kafka. Only an adapter (kafkajs/) knows
// which client library implements it; the port names neither a client library nor the assignor.

import type { StreamsError } from '../errors.js';

export type RecordHeaders = Record<string, Buffer>;

/** A record as fetched from a partition. Offsets are decimal strings (they are 64-bit). */
export interface ConsumedRecord {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: RecordHeaders;
}

/** A record to produce. Without `partition`, the client's default (murmur2 of the key) partitioner picks one. */
export interface OutgoingRecord {
  topic: string;
  partition?: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp?: number;
  headers?: RecordHeaders;
}

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read (last processed + 1). */
  offset: string;
}

/**
 * Records of one partition handed to the runtime in one call. With `ConsumerOptions.emptyBatches`, a fetch that
 * found no records is handed over too (`records` empty, no offset to mark consumed): with its `highWatermark` and
 * `lastOffset` it tells how far the partition's log goes, i.e. (`lastOffset` = `highWatermark` - 1) that the
 * consumer is caught up.
 */
export interface FetchedBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
  /** The partition's log end offset as of this fetch, when the client reports it. */
  highWatermark?: string;
  /**
   * The last offset this fetch covered: after the last record when transaction markers or aborted records follow;
   * `highWatermark` - 1 when the fetch found nothing.
   */
  lastOffset?: string;
  /**
   * The last offset this fetch returned, records, transaction markers and aborted records alike; absent when it
   * returned nothing. Unlike `lastOffset` it never guesses from the high watermark (under read_committed an open
   * transaction may lie below it), so a consumed position may move up to it: past the commit marker that follows a
   * transaction's last record, as Kafka Streams' committed positions do.
   */
  fetchedThrough?: string;
}

/** What the batch handler can ask of the consumer while it works. */
export interface BatchControl {
  /** Keeps the group membership alive during long batches. */
  heartbeat(): Promise<void>;
  /**
   * Marks records up to and including `offset` as consumed, so the next fetch starts after them. This does
   * not commit anything: committing is the runtime's decision (`ConsumerPort.commit`).
   */
  markConsumed(offset: string): void;
  /** False once the consumer is stopping or the partition was revoked: stop processing this batch. */
  isActive(): boolean;
}

export type BatchHandler = (batch: FetchedBatch, control: BatchControl) => Promise<void>;

export interface TopicSpec {
  topic: string;
  partitions: number;
  replicationFactor?: number;
  config?: Record<string, string>;
}

/** Offsets of one partition: `low` is the first offset still in the log, `high` the next offset to be written. */
export interface PartitionOffsets {
  partition: number;
  low: bigint;
  high: bigint;
}

export interface AdminPort {
  connect(): Promise<void>;
  partitionOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Partition counts of the given topics; topics that do not exist are absent from the map. */
  partitionCounts(topics: string[]): Promise<Map<string, number>>;
  /**
   * The values of the config entries `names` of each topic, defaults included (e.g. `delete.retention.ms`);
   * topics that do not exist are absent from the map.
   */
  topicConfigs(topics: string[], names: string[]): Promise<Map<string, Record<string, string>>>;
  createTopics(topics: TopicSpec[]): Promise<void>;
  /** Deletes the records of `topic` below `offset` in each given partition (moves the log start up to it). */
  deleteRecords(topic: string, partitions: { partition: number; offset: string }[]): Promise<void>;
  /**
   * The committed offsets of `groupId` on `topics` (the next offset to read), keyed `topic:partition`; partitions
   * without a committed offset are absent.
   */
  committedOffsets(groupId: string, topics: string[]): Promise<Map<string, bigint>>;
  close(): Promise<void>;
}

export interface ProducerPort {
  connect(): Promise<void>;
  /**
   * Sends all records in as few requests as the client allows and resolves when every one is acknowledged,
   * with the offset of the last record written to each partition, keyed `topic:partition`.
   */
  send(records: OutgoingRecord[]): Promise<Map<string, bigint>>;
  close(): Promise<void>;
}

/** A producer whose every call is one Kafka transaction (exactly-once). */
export interface TransactionalProducerPort {
  /** Registers the transactional id: older producers with the same id are fenced, their open transaction aborted. */
  connect(): Promise<void>;
  /**
   * Writes the records and commits the consumer offsets of `group` in one transaction, and resolves once it is
   * committed, with the last offset per explicitly chosen partition. On failure the transaction is aborted. The
   * group metadata lets the coordinator refuse the offsets of a member that is no longer in that generation (a
   * zombie): that failure is a StreamsError TASK_MIGRATED.
   */
  commitTransaction(
    records: OutgoingRecord[],
    group: ConsumerGroupMetadata,
    offsets: TopicPartitionOffset[],
  ): Promise<Map<string, bigint>>;
  close(): Promise<void>;
}

/** A member of the group as the leader sees it when it plans the assignment. */
export interface GroupMemberSubscription {
  memberId: string;
  /** The group instance id of a static member. */
  groupInstanceId?: string;
  /** The bytes the member's `GroupProtocol.subscription()` returned when it joined. */
  userData: Buffer;
}

/** What the leader gives one member: the partitions its consumer fetches, and bytes the member decodes itself. */
export interface MemberPlan {
  partitions: { topic: string; partition: number }[];
  userData: Buffer;
}

/**
 * How the members of a group are assigned partitions, as opaque bytes: each member announces `subscription()`,
 * the leader turns all of them into a plan per member. The client only carries the bytes (JoinGroup metadata in,
 * SyncGroup assignment out); `@eddy/assignor` provides Eddy's protocol.
 */
export interface GroupProtocol {
  /** Announced in JoinGroup; every member of a group must announce the same name. */
  readonly name: string;
  /** This member's subscription userData; called at every join (lags change between rebalances). */
  subscription(): Buffer;
  /**
   * Leader only: a plan for every member. `partitionCount(topic)` is the topic's partition count in the leader's
   * metadata, 0 when it has none. Must not throw for a problem the members should hear about: encode it in the
   * userData instead, so every member stops with the same error rather than each new leader crashing in turn.
   */
  assign(
    members: GroupMemberSubscription[],
    partitionCount: (topic: string) => number,
  ): Map<string, MemberPlan> | Promise<Map<string, MemberPlan>>;
}

/** The consumer's position in the group; transactional offset commits carry it so a zombie's commit is refused. */
export interface ConsumerGroupMetadata {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId?: string;
}

export interface ConsumerOptions {
  groupId: string;
  /** How the group assigns partitions (Eddy's is `eddyGroupProtocol` of `@eddy/assignor`); default the client's own. */
  protocol?: GroupProtocol;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  readCommitted: boolean;
  /** Where to start when the group has no committed offset. */
  fromBeginning: boolean;
  /**
   * Also hand the batch handler fetches that found no records in a partition (see `FetchedBatch`): at least once
   * after each change of the partition's position or log end (kafkajs: at every fetch). Default false.
   */
  emptyBatches?: boolean;
  /** The most bytes one fetch returns, in all and per partition; the client's defaults when absent. */
  fetchMaxBytes?: number;
  fetchMaxBytesPerPartition?: number;
  /**
   * Makes the consumer a static member (KIP-345): a restart with the same id within the session timeout gets its
   * partitions back without a rebalance.
   */
  groupInstanceId?: string;
  onGroupJoin?: (join: GroupJoin) => void;
  /**
   * Awaited before a running consumer rejoins its group (after the running batch), while it still owns its
   * partitions; a failure is logged and the rejoin goes on.
   */
  beforeRejoin?: () => Promise<void>;
  /**
   * Called when a join waits for the group coordinator (loading or not available yet, e.g. right after a broker
   * started) and will try again in `retryInMs`, within the client's retry budget.
   */
  onCoordinatorWait?: (wait: { reason: string; attempt: number; retryInMs: number }) => void;
  /**
   * Called when a join request goes to the group coordinator the client found: the broker answers, and the
   * coordinator may hold the request until the group's rebalance completes, up to `rebalanceTimeoutMs` (e.g. while
   * it waits for the session of a member that is gone to expire).
   */
  onJoinRequest?: (request: { rebalanceTimeoutMs: number }) => void;
  /** Called when the client crashes on its own (outside the batch handler) and will not retry. */
  onCrash?: (error: unknown) => void;
}

/** What a member received in one generation of the group. */
export interface GroupJoin {
  /** The partitions to fetch: those of the active tasks. */
  assigned: { topic: string; partition: number }[];
  generationId: number;
  /** This member's id in the group. */
  memberId?: string;
  /** The assignment bytes the leader's `GroupProtocol.assign` wrote for this member (null when there were none). */
  userData?: Buffer | null;
}

export interface ConsumerPort {
  connect(): Promise<void>;
  subscribe(topics: string[]): Promise<void>;
  run(handler: BatchHandler): Promise<void>;
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Stops fetching, waits for the running batch handler, and leaves the group unless `leaveGroup` is false. */
  stop(options?: { leaveGroup?: boolean }): Promise<void>;
  close(options?: { leaveGroup?: boolean }): Promise<void>;
  /** Rejoins the group after the running batch, with a fresh subscription: a rebalance. */
  requestRejoin(): void;
  /**
   * Stops fetching these partitions until they are resumed; their position stays where the handled batches left it.
   */
  pause(partitions: readonly { topic: string; partition: number }[]): void;
  resume(partitions: readonly { topic: string; partition: number }[]): void;
  /** This member's position in the group as of its latest join (generation -1 and no member id before the first). */
  groupMetadata(): ConsumerGroupMetadata;
}

/** What the Kafka client logs. */
export type ClientLogLevel = 'nothing' | 'error' | 'warn' | 'info';

/** TLS to the brokers. PEM strings or buffers; `ca` replaces the system's trusted roots when given. */
export interface TlsOptions {
  ca?: string | Buffer | (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  /** Default true: refuse a broker whose certificate does not verify. */
  rejectUnauthorized?: boolean;
  /** The name to verify the broker's certificate against (SNI), when it differs from the host. */
  servername?: string;
}

/** SASL authentication: a user and password, or an OAuth bearer token fetched (and refreshed) by `token()`. */
export type SaslOptions =
  | { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string }
  | { mechanism: 'oauthbearer'; token: () => Promise<{ value: string }> };

export interface ClientOptions {
  clientId: string;
  brokers: string[];
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** How long connecting may retry before it fails. */
  retryBudgetMs: number;
  /** Default 'error'. */
  logLevel?: ClientLogLevel;
  /** Connect over TLS; `true` uses the system's trusted roots. */
  ssl?: boolean | TlsOptions;
  sasl?: SaslOptions;
  /**
   * How old the client's topic metadata may get before it is fetched again (ms); bounds how long a partition added
   * to a source topic goes unnoticed. Default 300000, as Kafka's `metadata.max.age.ms`.
   */
  metadataMaxAgeMs?: number;
}

/** A changelog partition to read from `startOffset` up to (not including) `endOffset`. */
export interface ChangelogRange {
  topic: string;
  partition: number;
  startOffset: bigint;
  endOffset: bigint;
}

/** Reads changelog partitions directly (outside the app's consumer group) for restoring state. */
export interface ChangelogReaderPort {
  /**
   * Reads every range to its end, handing records over in fetched batches, and resolves when all ranges are done.
   * `onBatch` is awaited: the next batch is not handed over before it settles. Rejects with `ChangelogTruncated`
   * when records of a range were deleted before they were read (the log start moved past the read position).
   */
  read(
    ranges: ChangelogRange[],
    onBatch: (range: ChangelogRange, records: ConsumedRecord[]) => Promise<void>,
  ): Promise<void>;
  close(): Promise<void>;
}

/** Where to start reading one partition. */
export interface PartitionStart {
  topic: string;
  partition: number;
  /** The first offset to read. */
  offset: bigint;
}

/** Records of one partition handed over by a `PartitionFollowerPort`. */
export interface FollowedBatch {
  topic: string;
  partition: number;
  records: ConsumedRecord[];
}

/**
 * Reads partitions from given offsets on, without end and outside any group that assigns them (read_committed): how
 * an instance keeps a global store up to date with its source topic.
 */
export interface PartitionFollowerPort {
  /**
   * Reads every partition from its start offset on, handing records over in fetched batches (`onBatch` is awaited:
   * the next batch is not handed over before it settles), until `close()`. Resolves once closed; rejects when
   * reading fails or `onBatch` throws, and with `ChangelogTruncated` when records it had not read yet were deleted
   * (the log start moved past its position). One call per follower.
   */
  follow(starts: PartitionStart[], onBatch: (batch: FollowedBatch) => Promise<void>): Promise<void>;
  /** Stops reading (waiting for a batch being handed over) and releases the connection; idempotent. */
  close(): Promise<void>;
}

/** Creates the clients of one app instance. */
export interface KafkaClientFactory {
  admin(): AdminPort;
  producer(): ProducerPort;
  consumer(options: ConsumerOptions): ConsumerPort;
  transactionalProducer(transactionalId: string): TransactionalProducerPort;
  /** A reader that uses the private consumer group `groupId`, which nothing else joins. */
  changelogReader(groupId: string): ChangelogReaderPort;
  /** A follower that uses the private consumer group `groupId`, which nothing else joins. */
  partitionFollower(groupId: string): PartitionFollowerPort;
  /**
   * A failure of any client above that no retry can fix, because the brokers refused this client's identity
   * (AUTHENTICATION_FAILED) or its principal's rights (AUTHORIZATION_FAILED), as the error the app stops with;
   * undefined for any other failure.
   */
  securityFailure?(err: unknown): StreamsError | undefined;
}

/** A changelog read found records it had not read yet deleted (retention or DeleteRecords moved the log start). */
export class ChangelogTruncated extends Error {
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {
    super(
      `records of ${topic}-${partition} were deleted before they were read (the log start moved past them)`,
    );
    this.name = 'ChangelogTruncated';
  }
}
