// The changelog topics of a topology's logged stores, with the settings they need.
import { changelogTopic } from '@eddy/state';
import type { TopicSpec } from '../kafka/port.js';
import type { StoreSpec } from '../topology/topology.js';

/** Kafka Streams' default `windowstore.changelog.additional.retention.ms`: one day. */
export const DEFAULT_ADDITIONAL_CHANGELOG_RETENTION_MS = 86_400_000;

/**
 * The changelog topic of each logged store, with the topic settings it needs. A windowed store's changelog keeps
 * records `additionalRetentionMs` longer than the store keeps windows: its records carry their wall-clock write
 * time, and the broker deletes by that, while the store drops a window only when stream time has passed it.
 */
export function changelogTopicSpecs(
  applicationId: string,
  stores: StoreSpec[],
  partitions: number,
  additionalRetentionMs = DEFAULT_ADDITIONAL_CHANGELOG_RETENTION_MS,
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
            : {
                'cleanup.policy': 'compact,delete',
                'retention.ms': String(retentionMs + additionalRetentionMs),
              },
      };
    });
}
