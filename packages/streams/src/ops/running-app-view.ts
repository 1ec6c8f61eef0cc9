// The AppView of a StreamsApp: reads its current parts (they change at each start) without holding on to them.
import type { CacheStats, TaskStateManager } from '@eddy/state';
import type { QueryMetadata } from '../runtime/query-metadata.js';
import type { StreamThread } from '../runtime/stream-thread.js';
import { TaskId } from '../runtime/task-id.js';
import type { TaskLags } from '../runtime/task-lags.js';
import type { ActiveTask } from '../runtime/task-manager.js';
import type { Serializer } from '../serdes/serde.js';
import { userView } from '../topology/dsl/timestamped-key-value-store.js';
import { isValueAndTimestampSerde } from '../topology/dsl/value-and-timestamp.js';
import type { SealedTopology } from '../topology/topology.js';
import type { AppState, AppView } from './app-view.js';
import { kindOf, plainWindowValues } from './store-queries.js';

/** The parts of a running app the view reads; each may be absent (before start, or after close). */
export interface ViewedParts {
  thread?: Pick<StreamThread, 'processed' | 'stuckFor' | 'lags'>;
  collector?: { readonly sent: number };
  commit?: { readonly commits: number };
  rebalance?: {
    readonly rebalances: number;
    readonly assignment: { standby: readonly string[]; warmup: readonly string[] } | undefined;
    readonly queryMetadata: QueryMetadata | undefined;
  };
  tasks?: {
    readonly restoring: number;
    readonly pending: number;
    active(): ActiveTask[];
    pendingIds(): Iterable<TaskId>;
    get(id: TaskId): ActiveTask | undefined;
  };
  replicas?: { store(id: TaskId, name: string): unknown };
  lags?: Pick<TaskLags, 'lagOf'>;
}

/** Counts of the parts a reconnect released (`retryBackoff`): the totals go on from them. */
export interface CarriedCounts {
  processed: number;
  sent: number;
  commits: number;
  rebalances: number;
}

export interface ViewedApp {
  state(): AppState;
  parts(): ViewedParts;
  carried(): Readonly<CarriedCounts>;
  dropped(): Readonly<Record<string, number>>;
  graph: SealedTopology;
  endpoint: string | undefined;
}

export function runningAppView(app: ViewedApp): AppView {
  const parts = () => app.parts();
  const storeKeySerdes = new Map<string, Serializer<unknown>>();
  /** Window stores of windowed aggregations: each value is kept with its timestamp. */
  const timestampedWindows = new Set<string>();
  for (const st of app.graph.stores) {
    const options = st.builder.options as { keySerde?: Serializer<unknown>; valueSerde?: unknown };
    const serde = options.keySerde;
    if (serde !== undefined && typeof serde.serialize === 'function') storeKeySerdes.set(st.name, serde);
    if (isValueAndTimestampSerde(options.valueSerde)) timestampedWindows.add(st.name);
  }
  // A table's store (and a windowed aggregation's) keeps each value with its timestamp; queries answer the plain value.
  const plain = (name: string, store: unknown): unknown => {
    if (store === undefined) return undefined;
    return timestampedWindows.has(name) && kindOf(store) === 'window'
      ? plainWindowValues(store)
      : userView(store);
  };
  return {
    endpoint: app.endpoint,
    state: () => app.state(),
    stuckForMs: () => parts().thread?.stuckFor() ?? 0,
    processed: () => app.carried().processed + (parts().thread?.processed ?? 0),
    sent: () => app.carried().sent + (parts().collector?.sent ?? 0),
    commits: () => app.carried().commits + (parts().commit?.commits ?? 0),
    rebalances: () => app.carried().rebalances + (parts().rebalance?.rebalances ?? 0),
    restoringTasks: () => parts().tasks?.restoring ?? 0,
    pendingTasks: () => parts().tasks?.pending ?? 0,
    *activeTasks() {
      for (const { task, state } of parts().tasks?.active() ?? []) {
        yield { id: task.id.toString(), processed: task.processedCount, caches: cachesOf(state) };
      }
    },
    *replicas() {
      const { rebalance, lags } = parts();
      const assignment = rebalance?.assignment;
      if (assignment === undefined) return;
      for (const kind of ['standby', 'warmup'] as const) {
        for (const id of assignment[kind]) yield { id, kind, lag: lags?.lagOf(TaskId.parse(id)) ?? 0 };
      }
    },
    consumerLags: () => parts().thread?.lags() ?? new Map(),
    *pendingInputs() {
      for (const id of parts().tasks?.pendingIds() ?? []) {
        for (const topic of app.graph.subtopologies[id.subtopology]?.sourceTopics ?? []) {
          yield `${topic}:${id.partition}`;
        }
      }
    },
    dropped: () => app.dropped(),
    hasStore: (store) => app.graph.subtopologyOfStore.has(store),
    keySerializer: (store) => storeKeySerdes.get(store),
    route: (store, keyBytes) => parts().rebalance?.queryMetadata?.forKey(store, keyBytes),
    otherEndpoints: () =>
      (parts().rebalance?.queryMetadata?.all() ?? [])
        .map((m) => m.endpoint)
        .filter((e) => e !== app.endpoint),
    activeEndpointOf: (taskId) =>
      parts()
        .rebalance?.queryMetadata?.all()
        .find((m) => m.activeTasks.includes(taskId))?.endpoint,
    localStore: (taskId, store, standby) => {
      const id = TaskId.parse(taskId);
      if (standby) return plain(store, parts().replicas?.store(id, store));
      const state = parts().tasks?.get(id)?.state;
      return state?.storeNames().includes(store) ? plain(store, state.store(store)) : undefined;
    },
    activeTasksWith: (store) =>
      (parts().tasks?.active() ?? [])
        .filter(({ state }) => state?.storeNames().includes(store) === true)
        .map(({ task }) => task.id.toString()),
  };
}

function* cachesOf(state: TaskStateManager | undefined): Iterable<[string, CacheStats]> {
  if (state === undefined) return;
  for (const name of state.storeNames()) {
    const stats = state.cacheStats(name);
    if (stats !== undefined) yield [name, stats];
  }
}
