// The port's group consumer: a GroupMember for the group, and a fetch loop of its own over the assigned partitions
// (positions moved only by the batch handler, single partitions paused, empty fetches handed over on request).

import type {
  BatchHandler,
  ConsumerGroupMetadata,
  ConsumerOptions,
  ConsumerPort,
  FetchedBatch,
  TopicPartitionOffset,
} from '../port.js';
import { NETWORK_CODE, PlatformaticKafkaError, portError } from './errors.js';
import { type FetchSettings, fetchOnce, PASSING_FETCH_ERRORS, type PartitionFetch } from './fetch-records.js';
import { GroupMember, REBALANCE_TIMEOUT_MS } from './group-member.js';
import { type Library, loadLibrary, type Platformatic } from './library.js';
import { logOffsets } from './log-offsets.js';
import { sleep } from './sleep.js';

/** kafkajs's defaults, which the kafkajs adapter keeps. */
const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_MAX_BYTES_PER_PARTITION = 1024 * 1024;
const MAX_WAIT_MS = 250;
/** As `PASSING_FETCH_ERRORS`, and a topic the member's metadata does not know yet. */
const PASSING = new Set([...PASSING_FETCH_ERRORS, 'UNKNOWN_TOPIC_OR_PARTITION']);

interface Clients {
  lib: Library;
  group: Platformatic.Base;
  fetch: Platformatic.Base;
  member: GroupMember;
}

const key = (topic: string, partition: number) => `${topic}:${partition}`;

/** A lost connection, or a leader not known (yet): worth another try. */
function isPassing(err: unknown): boolean {
  const converted = portError(err) as { code?: unknown; type?: unknown };
  return converted.code === NETWORK_CODE || PASSING.has(String(converted.type));
}

export class PlatformaticConsumer implements ConsumerPort {
  private clients: Clients | undefined;
  private topics: string[] = [];
  private running = false;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private closed = false;
  /** The next offset to fetch of each assigned partition. */
  private readonly positions = new Map<string, bigint>();
  private readonly paused = new Set<string>();
  /** The subscribed topics' partition counts at the latest join. */
  private partitionCounts = new Map<string, number>();
  private readonly settings: FetchSettings;

  constructor(
    private readonly base: Platformatic.BaseOptions,
    private readonly options: ConsumerOptions,
    private readonly retryBudgetMs: number,
  ) {
    this.settings = {
      readCommitted: options.readCommitted,
      maxWaitMs: MAX_WAIT_MS,
      maxBytes: options.fetchMaxBytes ?? DEFAULT_MAX_BYTES,
      maxBytesPerPartition: options.fetchMaxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION,
    };
  }

  async connect(): Promise<void> {
    if (this.clients !== undefined) return;
    const lib = await loadLibrary();
    // A JoinGroup waits for the rebalance, up to its timeout: the group's requests get a connection of their own.
    const requestTimeout = Math.max(this.base.requestTimeout ?? 0, REBALANCE_TIMEOUT_MS + 5_000);
    const group = new lib.Base({ ...this.base, requestTimeout, timeout: requestTimeout });
    const fetch = new lib.Base(this.base);
    const member = new GroupMember(lib, group, this.options, this.retryBudgetMs, (err) => this.crash(err));
    this.clients = { lib, group, fetch, member };
    await fetch.metadata({ topics: [] }).catch((err) => {
      throw portError(err);
    });
  }

  groupMetadata(): ConsumerGroupMetadata {
    if (this.clients !== undefined) return this.clients.member.metadata();
    const { groupId, groupInstanceId } = this.options;
    return {
      groupId,
      generationId: -1,
      memberId: '',
      ...(groupInstanceId === undefined ? {} : { groupInstanceId }),
    };
  }

  async subscribe(topics: string[]): Promise<void> {
    this.topics = [...topics];
  }

  async run(handler: BatchHandler): Promise<void> {
    if (this.topics.length === 0) throw new Error('subscribe before run');
    if (this.clients === undefined) throw new Error('connect before run');
    if (this.running) return;
    this.running = true;
    const clients = this.clients;
    // As kafkajs's run(): resolves once the consumer is in the group, or fails with the reason it is not.
    try {
      await this.join(clients);
    } catch (err) {
      this.running = false;
      throw portError(err);
    }
    this.loop = this.consume(clients, handler).catch((err: unknown) => this.crash(err));
  }

  private crash(err: unknown): void {
    if (!this.running) return;
    this.running = false;
    this.options.onCrash?.(portError(err));
  }

  private async consume(clients: Clients, handler: BatchHandler): Promise<void> {
    const { member } = clients;
    let failingSince: number | undefined;
    while (this.running) {
      if (member.needsJoin) {
        // A rejoin of a running member: what its batches started settles before the partitions may move.
        await this.options.beforeRejoin?.().catch(() => undefined);
        await this.join(clients);
        continue;
      }
      if (await this.partitionsChanged(clients)) {
        member.rejoinRequested = true;
        continue;
      }
      const positions = member.assigned
        .filter((tp) => !this.paused.has(key(tp.topic, tp.partition)))
        .flatMap((tp) => {
          const offset = this.positions.get(key(tp.topic, tp.partition));
          return offset === undefined ? [] : [{ ...tp, offset }];
        });
      if (positions.length === 0) {
        await sleep(MAX_WAIT_MS);
        continue;
      }
      let fetched: PartitionFetch[];
      try {
        fetched = await fetchOnce(clients.lib, clients.fetch, positions, this.settings);
        failingSince = undefined;
      } catch (err) {
        // A lost connection is retried within the retry budget, as the client's own requests are.
        failingSince ??= Date.now();
        if (!isPassing(err) || Date.now() - failingSince > this.retryBudgetMs) throw err;
        await sleep(200);
        continue;
      }
      for (const f of fetched) {
        if (!this.running || member.needsJoin) break;
        await this.deliver(clients, f, handler);
      }
    }
  }

  private async join(clients: Clients): Promise<void> {
    const { member, lib, fetch } = clients;
    const joined = await member.join(this.topics);
    this.positions.clear();
    // As kafkajs: every join starts the assigned partitions from the group's committed offsets.
    const { fromBeginning, readCommitted } = this.options;
    const deadline = Date.now() + this.retryBudgetMs;
    for (;;) {
      try {
        const committed = await member.committed(joined.assigned);
        const missing = joined.assigned.filter((tp) => !committed.has(key(tp.topic, tp.partition)));
        const reset = await logOffsets(lib, fetch, missing, fromBeginning, readCommitted);
        for (const [tp, offset] of [...committed, ...reset]) this.positions.set(tp, offset);
        this.partitionCounts = await this.countPartitions(clients);
        break;
      } catch (err) {
        // A partition of a topic just created may have no leader in the metadata yet.
        if (!isPassing(err) || Date.now() >= deadline) throw err;
        await fetch.metadata({ topics: [...this.topics], forceUpdate: true }).catch(() => undefined);
        await sleep(200);
      }
    }
    this.options.onGroupJoin?.(joined);
  }

  /**
   * True when a subscribed topic's partition count differs from the one at the latest join, as the client's
   * metadata (at most `metadataMaxAgeMs` old) says: the group must plan again, as kafkajs's consumer rejoins then.
   */
  private async partitionsChanged(clients: Clients): Promise<boolean> {
    const counts = await this.countPartitions(clients).catch(() => undefined);
    if (counts === undefined) return false;
    return [...counts].some(([topic, n]) => this.partitionCounts.get(topic) !== n);
  }

  private async countPartitions(clients: Clients): Promise<Map<string, number>> {
    // (The library sorts the array it is given.)
    const metadata = await clients.fetch.metadata({ topics: [...this.topics] });
    return new Map(this.topics.map((t) => [t, metadata.topics.get(t)?.partitionsCount ?? 0]));
  }

  private async deliver(clients: Clients, f: PartitionFetch, handler: BatchHandler): Promise<void> {
    const { member } = clients;
    const tp = key(f.topic, f.partition);
    if (!this.positions.has(tp)) return;
    if (f.error === 'OFFSET_OUT_OF_RANGE') {
      const reset = await logOffsets(
        clients.lib,
        clients.fetch,
        [f],
        this.options.fromBeginning,
        this.options.readCommitted,
      );
      const offset = reset.get(tp);
      if (offset !== undefined) this.positions.set(tp, offset);
      return;
    }
    if (f.error !== undefined) {
      if (PASSING.has(f.error)) return;
      throw new PlatformaticKafkaError(
        Object.assign(new Error(`fetch of ${tp} failed: ${f.error}`), { apiId: f.error }),
      );
    }
    if (f.records.length === 0) {
      // Only transaction markers or aborted records: the consumer moves past them itself, as kafkajs does.
      if (f.fetchedThrough !== undefined) this.positions.set(tp, f.fetchedThrough + 1n);
      if (this.options.emptyBatches !== true) return;
    }
    const generation = member.generationId;
    const batch: FetchedBatch = {
      topic: f.topic,
      partition: f.partition,
      records: f.records,
      highWatermark: f.highWatermark.toString(),
      lastOffset: (f.fetchedThrough ?? f.highWatermark - 1n).toString(),
      ...(f.fetchedThrough === undefined ? {} : { fetchedThrough: f.fetchedThrough.toString() }),
    };
    const current = () => member.generationId === generation && this.positions.has(tp);
    await handler(batch, {
      heartbeat: () => member.heartbeat(),
      markConsumed: (offset) => {
        if (current()) this.positions.set(tp, BigInt(offset) + 1n);
      },
      isActive: () => this.running && !member.rebalancing && current(),
    });
  }

  async commit(offsets: TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    if (this.clients === undefined) throw new Error('connect before commit');
    await this.clients.member.commit(offsets);
  }

  stop(options: { leaveGroup?: boolean } = {}): Promise<void> {
    this.stopping ??= (async () => {
      this.running = false;
      await this.loop;
      const member = this.clients?.member;
      member?.stopHeartbeats();
      if (options.leaveGroup !== false) await member?.leave().catch(() => undefined);
    })();
    return this.stopping;
  }

  requestRejoin(): void {
    if (this.running && this.clients !== undefined) this.clients.member.rejoinRequested = true;
  }

  pause(partitions: readonly { topic: string; partition: number }[]): void {
    for (const { topic, partition } of partitions) this.paused.add(key(topic, partition));
  }

  resume(partitions: readonly { topic: string; partition: number }[]): void {
    for (const { topic, partition } of partitions) this.paused.delete(key(topic, partition));
  }

  async close(options: { leaveGroup?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.stop(options);
    await Promise.all([this.clients?.group.close(), this.clients?.fetch.close()]);
  }
}
