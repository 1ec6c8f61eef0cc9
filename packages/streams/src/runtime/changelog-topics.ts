// The changelog topics of a topology's logged stores, with the settings they need.
import { changelogTopic } from '@eddy/state';
import type { TopicSpec } from '../kafka/port.js';
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
