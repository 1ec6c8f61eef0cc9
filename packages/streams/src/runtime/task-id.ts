// Task ids: one task per partition number of one subtopology, interned so that ids can key maps directly.
import { parseTaskId as parseTaskIdString } from '@eddy/assignor';

/** The task of partition `partition` of subtopology `subtopology`, printed `<subtopology>_<partition>`. */
export class TaskId {
  private static readonly interned = new Map<string, TaskId>();
  private readonly text: string;

  private constructor(
    readonly subtopology: number,
    readonly partition: number,
  ) {
    this.text = `${subtopology}_${partition}`;
  }

  /** The one TaskId instance for this pair: ids compare with `===` and key maps and sets. */
  static of(subtopology: number, partition: number): TaskId {
    const text = `${subtopology}_${partition}`;
    let id = TaskId.interned.get(text);
    if (id === undefined) {
      id = new TaskId(subtopology, partition);
      TaskId.interned.set(text, id);
    }
    return id;
  }

  /** Parses `<subtopology>_<partition>`; throws for anything else. */
  static parse(text: string): TaskId {
    const { subtopology, partition } = parseTaskIdString(text);
    return TaskId.of(subtopology, partition);
  }

  /** Orders by subtopology, then partition. */
  static compare(a: TaskId, b: TaskId): number {
    return a.subtopology - b.subtopology || a.partition - b.partition;
  }

  toString(): string {
    return this.text;
  }
}
