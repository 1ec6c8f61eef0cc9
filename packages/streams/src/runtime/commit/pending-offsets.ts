// The input positions processed since the last commit: per source partition, the next offset to commit, by task.
import type { TopicPartitionOffset } from '../../kafka/port.js';
import type { StreamTask } from '../stream-task.js';
import type { TaskId } from '../task-id.js';

export class PendingOffsets {
  private readonly byPartition = new Map<string, { id: TaskId; offset: TopicPartitionOffset }>();

  /** Takes a task's positions: one past the last record it consumed, per source partition. */
  record(task: StreamTask): void {
    for (const [topic, offset] of task.consumedPositions) {
      this.byPartition.set(`${topic}:${task.partition}`, {
        id: task.id,
        offset: { topic, partition: task.partition, offset: (BigInt(offset) + 1n).toString() },
      });
    }
  }

  get size(): number {
    return this.byPartition.size;
  }

  /** The positions to commit per task, of the tasks `include` accepts. */
  byTask(include: (id: TaskId) => boolean): Map<TaskId, TopicPartitionOffset[]> {
    const out = new Map<TaskId, TopicPartitionOffset[]>();
    for (const e of this.byPartition.values()) {
      if (!include(e.id)) continue;
      const list = out.get(e.id);
      if (list === undefined) out.set(e.id, [e.offset]);
      else list.push(e.offset);
    }
    return out;
  }

  of(id: TaskId): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const e of this.byPartition.values()) if (e.id === id) out.push(e.offset);
    return out;
  }

  /** Forgets the positions of tasks not in `ids`: this instance no longer owns them, their new owner replays. */
  retain(ids: ReadonlySet<TaskId>): void {
    for (const [key, e] of this.byPartition) if (!ids.has(e.id)) this.byPartition.delete(key);
  }

  forget(id: TaskId): void {
    for (const [key, e] of this.byPartition) if (e.id === id) this.byPartition.delete(key);
  }

  /** Drops the entries that were committed (unless a newer position replaced them meanwhile). */
  committed(offsets: readonly TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const key = `${o.topic}:${o.partition}`;
      if (this.byPartition.get(key)?.offset === o) this.byPartition.delete(key);
    }
  }
}
