// Waits for every stream thread of a threaded app to be in one state, for the threaded-app tests.
import { vi } from 'vitest';
import type { StreamsState, ThreadedStreamsApp } from '../src/index.js';

/** Resolves once the app has `count` threads, all in `state` (30 s at most). */
export async function threadsIn(app: ThreadedStreamsApp, count: number, state: StreamsState): Promise<void> {
  await vi.waitFor(
    () => {
      const states = app.streamThreads.map((t) => t.state);
      if (states.length !== count || states.some((s) => s !== state)) throw new Error(`threads ${states}`);
    },
    { timeout: 30_000, interval: 20 },
  );
}
