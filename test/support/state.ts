// Reads what a task's key-value store holds straight from a state directory (the app must have released it).
import { keyValueStore, TaskStateManager } from '@eddy/state';
import { Serdes, type StoreSerde } from '@eddy/streams';
import { valueAndTimestampSerde } from '@eddy/streams/internals';

/**
 * How a string → number store keeps its counts: a Processor API store holds the number itself, a DSL table's store
 * (an aggregation's, or any other table's) holds it with the timestamp of its last update.
 */
export type CountFormat = 'plain' | 'timestamped';

/** The entries of the string → number store `name` of task `taskId`. */
export async function readCounts(
  stateDir: string,
  applicationId: string,
  {
    name,
    taskId,
    partition,
    format,
  }: { name: string; taskId: string; partition: number; format: CountFormat },
): Promise<Map<string, number>> {
  const plain = Serdes.float64();
  const timestamped = valueAndTimestampSerde(plain);
  const valueSerde: StoreSerde<unknown> = format === 'plain' ? plain : timestamped;
  const count = (v: unknown): number => (format === 'plain' ? (v as number) : (v as { value: number }).value);
  const manager = new TaskStateManager({ applicationId, taskId, partition, stateDir });
  const store = manager.register(
    keyValueStore<string, unknown>({ name, keySerde: Serdes.string(), valueSerde }),
  );
  await manager.open();
  try {
    const out = new Map<string, number>();
    for await (const { key, value } of store.all()) out.set(key, count(value));
    return out;
  } finally {
    await manager.close();
  }
}

/** The entries of the string → number store `name` of task `0_<partition>`. */
export function storedCounts(
  stateDir: string,
  applicationId: string,
  name: string,
  { partition = 0, format = 'plain' }: { partition?: number; format?: CountFormat } = {},
): Promise<Map<string, number>> {
  return readCounts(stateDir, applicationId, { name, taskId: `0_${partition}`, partition, format });
}
