// The port's admin client over a @platformatic/kafka Admin.

import { checkTlsHandshake } from '../kafkajs/tls-probe.js';
import type { AdminPort, PartitionOffsets, TopicSpec } from '../port.js';
import { errorType, portError, REFUSED_IDENTITY } from './errors.js';
import { type Library, loadLibrary, type Platformatic } from './library.js';
import { sleep } from './sleep.js';

/** ListOffsets timestamps: the log start and the log end. */
const EARLIEST = -2n;
const LATEST = -1n;
/** How long the admin waits for the partitions of a newly created topic to have leaders. */
const LEADER_WAIT_MS = 10_000;
const LEADERLESS = new Set(['LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER', 'UNKNOWN_TOPIC_OR_PARTITION']);

export class PlatformaticAdmin implements AdminPort {
  private admin: Platformatic.Admin | undefined;
  private lib: Library | undefined;
  private singleTry: Platformatic.Base | undefined;
  private closed = false;

  constructor(private readonly options: Platformatic.BaseOptions) {}

  /**
   * Fails at once, with AUTHENTICATION_FAILED, when the brokers refuse this client's TLS handshake or SASL login: the
   * library reports both as failed connections and retries them for its whole retry budget.
   */
  async connect(): Promise<void> {
    const { tls, bootstrapBrokers, clientId, connectTimeout } = this.options;
    if (tls !== undefined) {
      const brokers = bootstrapBrokers.map((b) => (typeof b === 'string' ? b : `${b.host}:${b.port}`));
      await checkTlsHandshake(brokers, tls, clientId, connectTimeout ?? 3_000);
    }
    await this.client();
    const lib = this.lib as Library;
    this.singleTry ??= new lib.Base({ ...this.options, retries: 0 });
    await this.singleTry.metadata({ topics: [], forceUpdate: true }).catch((err: unknown) => {
      const converted = portError(err);
      // Anything else (a broker not up yet) is for the retries of the requests that follow.
      if (converted instanceof Error && converted.name === REFUSED_IDENTITY) throw converted;
    });
  }

  async partitionOffsets(topic: string): Promise<PartitionOffsets[]> {
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      try {
        return await this.offsetsOf(topic);
      } catch (err) {
        if (!LEADERLESS.has(errorType(err) ?? '') || Date.now() >= deadline) throw portError(err);
        await sleep(100);
      }
    }
  }

  private async offsetsOf(topic: string): Promise<PartitionOffsets[]> {
    const admin = await this.client();
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const ask = (timestamp: bigint) =>
      admin.listOffsets({
        topics: [
          { name: topic, partitions: range(count).map((partitionIndex) => ({ partitionIndex, timestamp })) },
        ],
      });
    const [low, high] = await Promise.all([ask(EARLIEST), ask(LATEST)]);
    const lows = new Map(low.flatMap((t) => t.partitions).map((p) => [p.partitionIndex, p.offset]));
    return high
      .flatMap((t) => t.partitions)
      .map((p) => ({ partition: p.partitionIndex, low: lows.get(p.partitionIndex) ?? 0n, high: p.offset }))
      .sort((a, b) => a.partition - b.partition);
  }

  async partitionCounts(topics: string[]): Promise<Map<string, number>> {
    const admin = await this.client();
    const counts = new Map<string, number>();
    const present = await this.existing(topics);
    if (present.length === 0) return counts;
    const metadata = await admin.metadata({ topics: present, forceUpdate: true }).catch((err) => {
      throw portError(err);
    });
    for (const topic of present) {
      const count = metadata.topics.get(topic)?.partitionsCount;
      if (count !== undefined) counts.set(topic, count);
    }
    return counts;
  }

  async topicConfigs(topics: string[], names: string[]): Promise<Map<string, Record<string, string>>> {
    const admin = await this.client();
    const configs = new Map<string, Record<string, string>>();
    const present = await this.existing(topics);
    if (present.length === 0) return configs;
    const described = await admin
      .describeConfigs({
        resources: present.map((resourceName) => ({
          resourceType: 2, // TOPIC
          resourceName,
          configurationKeys: names,
        })),
      })
      .catch((err) => {
        throw portError(err);
      });
    for (const resource of described) {
      const entries: Record<string, string> = {};
      for (const c of resource.configs) if (typeof c.value === 'string') entries[c.name] = c.value;
      configs.set(resource.resourceName, entries);
    }
    return configs;
  }

  async createTopics(topics: TopicSpec[]): Promise<void> {
    const admin = await this.client();
    // The library creates topics of one partition count and replication factor per request.
    for (const t of topics) {
      await admin
        .createTopics({
          topics: [t.topic],
          partitions: t.partitions,
          replicas: t.replicationFactor ?? -1,
          configs: Object.entries(t.config ?? {}).map(([name, value]) => ({ name, value })),
        })
        .catch((err) => {
          if (errorType(err) !== 'TOPIC_ALREADY_EXISTS') throw portError(err);
        });
    }
    await this.waitForLeaders(topics.map((t) => t.topic));
  }

  async deleteRecords(topic: string, partitions: { partition: number; offset: string }[]): Promise<void> {
    if (partitions.length === 0) return;
    const admin = await this.client();
    await admin
      .deleteRecords({
        topics: [
          {
            name: topic,
            partitions: partitions.map((p) => ({ partition: p.partition, offset: BigInt(p.offset) })),
          },
        ],
      })
      .catch((err) => {
        throw portError(err);
      });
  }

  async committedOffsets(groupId: string, topics: string[]): Promise<Map<string, bigint>> {
    const admin = await this.client();
    const committed = new Map<string, bigint>();
    const wanted = new Set(topics);
    const groups = await admin.listConsumerGroupOffsets({ groups: [groupId] }).catch((err) => {
      throw portError(err);
    });
    for (const group of groups) {
      for (const topic of group.topics) {
        if (!wanted.has(topic.name)) continue;
        for (const p of topic.partitions) {
          if (p.committedOffset >= 0n) committed.set(`${topic.name}:${p.partitionIndex}`, p.committedOffset);
        }
      }
    }
    return committed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.admin?.close(), this.singleTry?.close()]);
  }

  /** The topics of `topics` that exist: the library's metadata request fails as a whole for a missing one. */
  private async existing(topics: string[]): Promise<string[]> {
    const admin = await this.client();
    const listed = new Set(
      await admin.listTopics({ includeInternals: true }).catch((err) => {
        throw portError(err);
      }),
    );
    await this.failIfDenied(topics.filter((t) => !listed.has(t)));
    return topics.filter((t) => listed.has(t));
  }

  /**
   * The listing leaves out topics the principal may not describe. Asked by name, the broker says which of them it
   * denies (TOPIC_AUTHORIZATION_FAILED, thrown) rather than lets them pass for missing; asked once, by a client
   * that does not retry, as the library would retry the answer for a topic that really is missing.
   */
  private async failIfDenied(unlisted: string[]): Promise<void> {
    if (unlisted.length === 0 || this.lib === undefined) return;
    this.singleTry ??= new this.lib.Base({ ...this.options, retries: 0 });
    await this.singleTry.metadata({ topics: unlisted, forceUpdate: true }).catch((err: unknown) => {
      if (errorType(err) === 'TOPIC_AUTHORIZATION_FAILED') throw portError(err);
    });
  }

  private async waitForLeaders(topics: string[]): Promise<void> {
    const admin = await this.client();
    const deadline = Date.now() + LEADER_WAIT_MS;
    while (Date.now() < deadline) {
      const metadata = await admin.metadata({ topics, forceUpdate: true }).catch(() => undefined);
      const led = topics.every((t) => {
        const topic = metadata?.topics.get(t);
        return (
          topic !== undefined && topic.partitionsCount > 0 && topic.partitions.every((p) => p.leader >= 0)
        );
      });
      if (led) return;
      await sleep(100);
    }
  }

  private async client(): Promise<Platformatic.Admin> {
    if (this.closed) throw new Error('the admin client is closed');
    this.lib ??= await loadLibrary();
    this.admin ??= new this.lib.Admin(this.options);
    return this.admin;
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
