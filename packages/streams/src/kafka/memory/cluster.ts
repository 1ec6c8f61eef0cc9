// The in-memory Kafka cluster: topics of partition logs, group coordinators, the transaction coordinator, a
// controllable clock and fault injection. Clients of the port (memoryClientFactory) talk to one cluster.

import type { ConsumedRecord, TopicSpec } from '../port.js';
import { ManualClock } from './clock.js';
import { kafkaError } from './errors.js';
import { FaultInjector } from './faults.js';
import { type GroupContext, GroupCoordinator, type GroupDescription } from './group-coordinator.js';
import type { ClientLifecycle } from './lifecycle.js';
import type { Isolation, PartitionLog } from './partition-log.js';
import { nextMacrotask } from './signal.js';
import { Topic, validateTopicSpec } from './topic.js';
import { TransactionCoordinator } from './transaction-coordinator.js';

export interface MemoryClusterOptions {
  /** The clock's start (ms since the epoch); default 0. Time moves only with `advance()`. */
  startTime?: number;
  /** Most records one fetch hands to a consumer or changelog reader; default 500. */
  maxBatchRecords?: number;
  /** How long a rebalance waits for members to rejoin before it goes on without them; default 60 s. */
  rebalanceTimeoutMs?: number;
  /** How long a transaction may stay open before the coordinator aborts it and fences its producer; default 60 s. */
  transactionTimeoutMs?: number;
}

export class MemoryKafkaCluster {
  readonly clock: ManualClock;
  readonly faults = new FaultInjector();
  readonly transactions: TransactionCoordinator;
  readonly maxBatchRecords: number;
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, GroupCoordinator>();
  private readonly watchers = new Set<() => void>();
  private readonly clients = new Set<ClientLifecycle>();
  private readonly groupContext: GroupContext;
  private activity = 0;

  constructor(options: MemoryClusterOptions = {}) {
    this.clock = new ManualClock(options.startTime ?? 0);
    this.maxBatchRecords = options.maxBatchRecords ?? 500;
    this.transactions = new TransactionCoordinator(this, options.transactionTimeoutMs ?? 60_000);
    this.groupContext = {
      now: () => this.clock.now(),
      partitionCount: (topic) => this.partitionCount(topic),
      rebalanceTimeoutMs: options.rebalanceTimeoutMs ?? 60_000,
      touch: () => this.touch(),
    };
  }

  now(): number {
    return this.clock.now();
  }

  /** Creates a topic; returns false (and changes nothing) if it exists. Invalid specs throw as CreateTopics does. */
  createTopic(spec: TopicSpec): boolean {
    validateTopicSpec(spec);
    if (this.topics.has(spec.topic)) return false;
    this.topics.set(spec.topic, new Topic(spec.topic, spec.partitions, spec.config));
    this.touch();
    return true;
  }

  hasTopic(topic: string): boolean {
    return this.topics.has(topic);
  }

  topic(topic: string): Topic {
    const t = this.topics.get(topic);
    if (t === undefined) throw kafkaError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} does not exist`);
    return t;
  }

  partition(topic: string, partition: number): PartitionLog {
    return this.topic(topic).partition(partition);
  }

  /** The topic's partition count, 0 when it does not exist. */
  partitionCount(topic: string): number {
    return this.topics.get(topic)?.partitions.length ?? 0;
  }

  /** CreatePartitions: grows the topic to `count` partitions; groups subscribed to it rebalance. */
  addPartitions(topic: string, count: number): void {
    const t = this.topic(topic);
    if (!Number.isInteger(count) || count <= t.partitions.length) {
      throw kafkaError(
        'INVALID_PARTITIONS',
        `topic ${topic} has ${t.partitions.length} partitions, not fewer than ${count}`,
      );
    }
    const grown = new Topic(topic, count, t.config);
    grown.partitions.splice(0, t.partitions.length, ...t.partitions);
    this.topics.set(topic, grown);
    for (const g of this.groups.values()) g.topicChanged(topic);
    this.notify();
  }

  /** The topic's configs as created (or set since). */
  topicConfig(topic: string): Record<string, string> {
    return { ...this.topic(topic).config };
  }

  setTopicConfig(topic: string, name: string, value: string): void {
    const t = this.topic(topic);
    validateTopicSpec({ topic, partitions: 1, config: { [name]: value } });
    t.config[name] = value;
  }

  /** DeleteRecords: records before `offset` are gone; the partition's log start moves there. */
  deleteRecords(topic: string, partition: number, offset: bigint): void {
    this.partition(topic, partition).deleteBefore(offset);
    this.notify();
  }

  /** Every record of a partition from its log start, as a reader with `isolation` sees it (for assertions). */
  records(topic: string, partition: number, isolation: Isolation = 'read_uncommitted'): ConsumedRecord[] {
    const log = this.partition(topic, partition);
    return log.read(log.logStartOffset, Number.MAX_SAFE_INTEGER, isolation).records;
  }

  /** Every record of a topic, partition by partition, as a reader with `isolation` sees it (for assertions). */
  topicRecords(
    topic: string,
    isolation: Isolation = 'read_uncommitted',
  ): (ConsumedRecord & { partition: number })[] {
    return this.topic(topic).partitions.flatMap((_, partition) =>
      this.records(topic, partition, isolation).map((r) => ({ ...r, partition })),
    );
  }

  /** The group's coordinator (created on first use, like a group in Kafka). */
  group(groupId: string): GroupCoordinator {
    let g = this.groups.get(groupId);
    if (g === undefined) {
      g = new GroupCoordinator(groupId, this.groupContext);
      this.groups.set(groupId, g);
    }
    return g;
  }

  describeGroup(groupId: string): GroupDescription {
    return this.group(groupId).describe();
  }

  /** Committed offsets of a group, keyed `topic:partition`. */
  committedOffsets(groupId: string): Map<string, bigint> {
    return this.group(groupId).committedOffsets();
  }

  /** Makes the group rebalance now, as a metadata change or a member's rejoin would. */
  rebalance(groupId: string): void {
    this.group(groupId).triggerRebalance();
  }

  /**
   * Pauses a member as if its process were stopped (SIGSTOP): it stops fetching and heartbeating, so once the
   * clock passes its session timeout the group removes it. A batch it is processing runs on (and can still try to
   * commit, as a zombie would). Returns the function that resumes it.
   */
  stallMember(groupId: string, memberId: string): () => void {
    const client = this.group(groupId).clientOf(memberId);
    client.setStalled(true);
    this.touch();
    return () => {
      client.setStalled(false);
      this.touch();
    };
  }

  /** Moves the clock and applies what time decides: session expiries, rebalance and transaction timeouts. */
  advance(ms: number): void {
    const now = this.clock.advance(ms);
    for (const g of this.groups.values()) g.tick(now);
    this.transactions.tick(now);
    this.touch();
  }

  /**
   * Resolves once the cluster's clients have nothing left to do: every consumer waits for records or for other
   * members, and nothing changed over the last event loop turns. A batch handler that waits for something outside
   * the cluster (a test's promise, disk I/O) is not waited for; wait for its effect instead.
   */
  async settle(maxTurns = 10_000): Promise<void> {
    for (let turn = 0; turn < maxTurns; turn++) {
      const before = this.activity;
      await nextMacrotask();
      await nextMacrotask();
      if (this.activity === before) return;
    }
    throw new Error(`the in-memory cluster did not settle within ${maxTurns} turns`);
  }

  /** Clients created on this cluster and not closed yet, as `kind:name`. */
  openClients(): string[] {
    return [...this.clients].filter((c) => !c.closed).map((c) => `${c.kind}:${c.name}`);
  }

  /** @internal Registers a client for `openClients()`. */
  register(client: ClientLifecycle): void {
    this.clients.add(client);
  }

  /** @internal Calls `watcher` on every change of a log (records appended, transactions ended, records deleted). */
  watch(watcher: () => void): () => void {
    this.watchers.add(watcher);
    return () => this.watchers.delete(watcher);
  }

  /** @internal Tells the watchers that logs changed. */
  notify(): void {
    this.touch();
    for (const w of [...this.watchers]) w();
  }

  /** @internal Records progress, for `settle()`. */
  touch(): void {
    this.activity++;
  }
}
