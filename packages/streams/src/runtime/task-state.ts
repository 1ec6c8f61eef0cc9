// Builds a task's state manager from the topology's stores, and opens it (wiping corrupted stores, waiting out locks).
import { StateStoreError, TaskStateManager } from '@eddy/state';
import type { ResolvedConfig } from '../config.js';
import type { SealedTopology } from '../topology/topology.js';
import type { TaskId } from './task-id.js';

/** How long opening waits for another holder of a task directory's lock to let go. */
const LOCK_WAIT_MS = 15_000;

export interface TaskState {
  state: TaskStateManager;
  /** store name → its typed face, as processors see it. */
  stores: Map<string, unknown>;
}

/**
 * The state manager of task `id` with the stores of its subtopology registered (not yet open); undefined for a
 * subtopology without stores.
 */
export function createTaskState(
  config: Pick<ResolvedConfig, 'applicationId' | 'stateDir'> &
    Partial<Pick<ResolvedConfig, 'storeCacheMaxBytes'>>,
  graph: SealedTopology,
  id: TaskId,
): TaskState | undefined {
  const specs = graph.subtopologies[id.subtopology]?.stores ?? [];
  if (specs.length === 0) return undefined;
  const state = new TaskStateManager({
    applicationId: config.applicationId,
    taskId: id.toString(),
    partition: id.partition,
    stateDir: config.stateDir,
    ...(config.storeCacheMaxBytes === undefined ? {} : { cacheMaxBytes: config.storeCacheMaxBytes }),
  });
  const stores = new Map<string, unknown>();
  for (const spec of specs) stores.set(spec.name, state.register(spec.builder));
  return { state, stores };
}

/**
 * Opens the stores: a corrupted store is wiped (it is rebuilt from its changelog); a lock still held by another
 * owner (a task or replica of this process closing, or a previous process) is waited for a bounded time.
 */
export async function openTaskState(state: TaskStateManager, config: ResolvedConfig): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let wiped = 0;
  let waitingLogged = false;
  for (;;) {
    try {
      await state.open();
      return;
    } catch (err) {
      if (!(err instanceof StateStoreError)) throw err;
      if (err.code === 'STORE_CORRUPTED' && err.store !== undefined && wiped < state.storeNames().length) {
        config.logger.warn('store is corrupted; wiping it and rebuilding it from its changelog', {
          store: err.store,
          task: state.options.taskId,
          error: err.message,
        });
        await state.wipe(err.store);
        wiped++;
        continue;
      }
      if (err.code === 'STORE_LOCKED' && Date.now() < deadline) {
        if (!waitingLogged) {
          config.logger.warn('task state is locked by another owner; waiting for it', {
            task: state.options.taskId,
            error: err.message,
          });
          waitingLogged = true;
        }
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      throw err;
    }
  }
}
