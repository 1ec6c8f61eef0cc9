// The port's admin client over a kafkajs Admin: offsets, partition counts, topic configs, creation, record deletion.

import type { Admin, ConfigResourceTypes } from '#kafkajs';
import type { AdminPort, PartitionOffsets, TopicSpec } from '../port.js';
import { isLeadershipError, protocolErrorType } from './errors.js';

/** kafkajs' `ConfigResourceTypes.TOPIC`: a value Node's ESM loader cannot import by name from kafkajs. */
const TOPIC_RESOURCE: ConfigResourceTypes = 2;

/** How long the admin waits for the partitions of a newly created topic to have leaders. */
const LEADER_WAIT_MS = 10_000;

export interface KafkajsAdminOptions {
  /** Runs before the first connection (e.g. a check that fails at once where kafkajs would retry). */
  beforeConnect?: () => Promise<void>;
  /** An admin client that does not retry: asks about topics the listing does not show. */
  singleTry?: () => Admin;
}

export class KafkajsAdmin implements AdminPort {
  private closed = false;
  /** Topics whose metadata this client has loaded. */
  private readonly known = new Set<string>();
  private singleTry: Admin | undefined;
  constructor(
    private readonly admin: Admin,
    private readonly options: KafkajsAdminOptions = {},
  ) {}

  async connect(): Promise<void> {
    await this.options.beforeConnect?.();
    await this.admin.connect();
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      try {
        const offsets = await this.admin.fetchTopicOffsets(topic);
        return offsets
          .map((o) => ({ partition: o.partition, low: BigInt(o.low), high: BigInt(o.high) }))
          .sort((a, b) => a.partition - b.partition);
      } catch (err) {
        // A topic another instance has just created: its leaders are elected, but this client's metadata still
        // has none (NOT_LEADER_FOR_PARTITION, LEADER_NOT_AVAILABLE). Refresh it and ask again, for a bounded time.
        if (!isLeadershipError(err) || Date.now() >= deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
        await this.admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      }
    }
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const existing = new Set(await this.admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    const counts = new Map<string, number>();
    await this.failIfDenied(topics.filter((t) => !existing.has(t)));
    if (present.length === 0) return counts;
    const { topics: meta } = await this.admin.fetchTopicMetadata({ topics: present });
    for (const t of meta) counts.set(t.name, t.partitions.length);
    return counts;
  }

  async topicConfigs(topics: string[], names: string[]): Promise<Map<string, Record<string, string>>> {
    // DescribeConfigs fails the whole request for one missing topic: ask only about those that exist.
    const existing = new Set(await this.admin.listTopics());
    const configs = new Map<string, Record<string, string>>();
    const present = topics.filter((t) => existing.has(t));
    if (present.length === 0) return configs;
    const { resources } = await this.admin.describeConfigs({
      includeSynonyms: false,
      resources: present.map((name) => ({ type: TOPIC_RESOURCE, name, configNames: names })),
    });
    for (const r of resources) {
      configs.set(
        r.resourceName,
        Object.fromEntries(r.configEntries.map((e) => [e.configName, e.configValue])),
      );
    }
    return configs;
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    // Resolves false, without waiting for leaders, when another instance created a topic first: wait here then. A
    // leadership error from its own wait (which the patch lets wait through UNKNOWN_TOPIC_OR_PARTITION) comes after
    // the topics were created, so it too ends in the wait here.
    const created = await this.admin
      .createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor ?? -1,
          configEntries: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })),
      })
      .catch((err: unknown) => {
        if (isLeadershipError({ type: protocolErrorType(err) })) return false;
        throw err;
      });
    if (!created) await this.waitForLeaders(topics.map((t) => t.topic));
  }

  async committedOffsets(groupId: string, topics: string[]): Promise<Map<string, bigint>> {
    const committed = new Map<string, bigint>();
    for (const { topic, partitions } of await this.admin.fetchOffsets({ groupId, topics })) {
      for (const { partition, offset } of partitions) {
        if (BigInt(offset) >= 0n) committed.set(`${topic}:${partition}`, BigInt(offset));
      }
    }
    return committed;
  }

  async deleteRecords(topic: string, partitions: { partition: number; offset: string }[]): Promise<void> {
    if (partitions.length === 0) return;
    // kafkajs looks up the partitions' leaders in its cached metadata before it loads the topic's: load it first.
    if (!this.known.has(topic)) {
      await this.admin.fetchTopicMetadata({ topics: [topic] });
      this.known.add(topic);
    }
    await this.admin.deleteTopicRecords({ topic, partitions });
  }

  /**
   * The listing leaves out topics the principal may not describe. Asked by name, the broker says which of them it
   * denies (TOPIC_AUTHORIZATION_FAILED, thrown) rather than lets them pass for missing; asked once, as kafkajs would
   * retry the answer for a topic that really is missing.
   */
  private async failIfDenied(unlisted: string[]): Promise<void> {
    if (unlisted.length === 0 || this.options.singleTry === undefined) return;
    if (this.singleTry === undefined) {
      this.singleTry = this.options.singleTry();
      await this.singleTry.connect();
    }
    await this.singleTry.fetchTopicMetadata({ topics: unlisted }).catch((err: unknown) => {
      if (protocolErrorType(err) === 'TOPIC_AUTHORIZATION_FAILED') throw err;
    });
  }

  private async waitForLeaders(topics: string[]): Promise<void> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const meta = await this.admin.fetchTopicMetadata({ topics }).catch(() => undefined);
      const led = meta?.topics.every(
        (t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0),
      );
      if (led || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.admin.disconnect(), this.singleTry?.disconnect()]);
  }
}
