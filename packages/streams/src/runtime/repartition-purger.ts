// Deletes records of repartition topics below the offsets this instance committed: they will never be read again.
import { errorMessage } from '../errors.js';
import type { AdminPort, TopicPartitionOffset } from '../kafka/port.js';
import type { Logger } from '../logger.js';

export class RepartitionPurger {
  /** `topic:partition` → the highest committed offset not yet purged. */
  private readonly due = new Map<string, TopicPartitionOffset>();
  private lastPurge = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;

  constructor(
    private readonly admin: AdminPort,
    private readonly topics: ReadonlySet<string>,
    private readonly logger: Logger,
    private readonly intervalMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /**
   * Takes the offsets of a commit; at most once per interval, deletes what lies below them in the background (a
   * failure is logged and retried with the next commit: the records are only kept longer).
   */
  committed(offsets: readonly TopicPartitionOffset[]): void {
    if (this.topics.size === 0) return;
    for (const o of offsets) if (this.topics.has(o.topic)) this.due.set(`${o.topic}:${o.partition}`, o);
    if (this.due.size === 0 || this.running !== undefined) return;
    if (this.clock() - this.lastPurge < this.intervalMs) return;
    this.lastPurge = this.clock();
    const batch = [...this.due.values()];
    this.due.clear();
    this.running = this.purge(batch).finally(() => {
      this.running = undefined;
    });
  }

  /** Waits for a purge in progress. */
  async idle(): Promise<void> {
    await this.running;
  }

  private async purge(offsets: TopicPartitionOffset[]): Promise<void> {
    const byTopic = new Map<string, { partition: number; offset: string }[]>();
    for (const o of offsets) {
      const list = byTopic.get(o.topic) ?? [];
      list.push({ partition: o.partition, offset: o.offset });
      byTopic.set(o.topic, list);
    }
    for (const [topic, partitions] of byTopic) {
      try {
        await this.admin.deleteRecords(topic, partitions);
      } catch (err) {
        this.logger.warn(
          'deleting consumed records of a repartition topic failed; retried after the next commit',
          {
            topic,
            error: errorMessage(err),
          },
        );
        for (const p of partitions) {
          const key = `${topic}:${p.partition}`;
          if (!this.due.has(key)) this.due.set(key, { topic, ...p });
        }
      }
    }
  }
}
