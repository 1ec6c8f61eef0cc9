// Creates the changelog topics of a topology's logged stores, or checks the ones that exist.
import { changelogTopic } from '@eddy/state';
import { StreamsError } from '../errors.js';
import type { AdminPort, TopicSpec } from '../kafka/port.js';
import type { StoreSpec } from '../topology/topology.js';

/** The changelog topic of each logged store, with the topic settings it needs. */
export function changelogTopicSpecs(
  applicationId: string,
  stores: StoreSpec[],
  partitions: number,
): TopicSpec[] {
  return stores
    .filter((s) => s.builder.options.logging !== false)
    .map((s): TopicSpec => {
      const retentionMs = (s.builder.options as { retentionMs?: number }).retentionMs;
      return {
        topic: changelogTopic(applicationId, s.name),
        partitions,
        // Windowed stores also expire old windows; key-value changelogs only keep the latest value per key.
        config:
          retentionMs === undefined
            ? { 'cleanup.policy': 'compact' }
            : { 'cleanup.policy': 'compact,delete', 'retention.ms': String(retentionMs * 2) },
      };
    });
}

/** Creates missing changelog topics; an existing one must have one partition per task. */
export async function ensureChangelogTopics(admin: AdminPort, specs: TopicSpec[]): Promise<void> {
  if (specs.length === 0) return;
  const counts = await admin.partitionCounts(specs.map((s) => s.topic));
  for (const spec of specs) {
    const n = counts.get(spec.topic);
    if (n !== undefined && n !== spec.partitions) {
      throw new StreamsError(
        'PARTITION_COUNT_MISMATCH',
        `changelog topic ${spec.topic} has ${n} partitions but the app has ${spec.partitions} tasks; ` +
          'delete it (its state is rebuilt from the input) or give the sources the same partition count',
      );
    }
  }
  const missing = specs.filter((s) => !counts.has(s.topic));
  if (missing.length > 0) await admin.createTopics(missing);
}
