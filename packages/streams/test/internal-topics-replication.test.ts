// The internal topics an app creates get the configured replication factor; existing ones are left as they are.
import { describe, expect, it } from 'vitest';
import type { TopicSpec } from '../src/kafka/port.js';
import { ensureInternalTopics } from '../src/runtime/topic-layout.js';
import { FakeAdmin } from './fake-admin.js';

class RecordingAdmin extends FakeAdmin {
  readonly created: TopicSpec[] = [];
  override async createTopics(topics: TopicSpec[]): Promise<void> {
    this.created.push(...topics);
  }
}

const specs: TopicSpec[] = [
  { topic: 'app-counts-changelog', partitions: 3, config: { 'cleanup.policy': 'compact' } },
  { topic: 'app-customers-repartition', partitions: 3 },
];

describe('ensureInternalTopics', () => {
  it("creates missing topics with the broker's default replication factor (-1) unless one is given", async () => {
    const admin = new RecordingAdmin();
    await ensureInternalTopics(admin, specs);
    expect(admin.created.map((t) => [t.topic, t.replicationFactor])).toEqual([
      ['app-counts-changelog', -1],
      ['app-customers-repartition', -1],
    ]);
  });

  it('creates only the missing topics, with the configured replication factor and their own configs', async () => {
    const admin = new RecordingAdmin();
    admin.set('app-customers-repartition', [0, 0], [0, 0], [0, 0]);
    await ensureInternalTopics(admin, specs, 3);
    expect(admin.created).toEqual([
      {
        topic: 'app-counts-changelog',
        partitions: 3,
        replicationFactor: 3,
        config: { 'cleanup.policy': 'compact' },
      },
    ]);
  });
});
