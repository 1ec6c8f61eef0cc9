// Reads what a task's key-value store holds straight from a state directory (the app must have released it).
import { keyValueStore, TaskStateManager } from '@eddy/state';
import { Serdes } from '@eddy/streams';

/** The entries of the string → number store `name` of task `0_<partition>`. */
export async function storedCounts(
  stateDir: string,
  applicationId: string,
  name: string,
  partition = 0,
): Promise<Map<string, number>> {
  const manager = new TaskStateManager({ applicationId, taskId: `0_${partition}`, partition, stateDir });
  const store = manager.register(
    keyValueStore<string, number>({ name, keySerde: Serdes.string(), valueSerde: Serdes.float64() }),
  );
  await manager.open();
  try {
    const out = new Map<string, number>();
    for await (const { key, value } of store.all()) out.set(key, value);
    return out;
  } finally {
    await manager.close();
  }
}
