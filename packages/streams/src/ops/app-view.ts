// What the operations server and the metrics see of a running app: read-only views over its parts.
import type { Serializer } from '../serdes/serde.js';
import type { MetricsSource } from './app-metrics.js';

/** The app's lifecycle states, as the probes read them. */
export type AppState = 'CREATED' | 'REBALANCING' | 'RUNNING' | 'PENDING_SHUTDOWN' | 'NOT_RUNNING' | 'ERROR';

/** Where a key's task runs, from the latest assignment. */
export interface KeyRoute {
  taskId: string;
  active: string | undefined;
  standbys: readonly string[];
}

export interface AppView extends MetricsSource {
  state(): AppState;
  /** Active tasks assigned but not ready yet (opening, or restoring their stores). */
  pendingTasks(): number;
  /** How long the processing loop has been stuck (ms); 0 while it moves or no loop runs yet. */
  stuckForMs(): number;
  /** This instance's `applicationServer`, as the group knows it. */
  readonly endpoint: string | undefined;
  /** The stores of the topology. */
  hasStore(store: string): boolean;
  /** The serializer that gives a store's key the bytes its input topic is partitioned by. */
  keySerializer(store: string): Serializer<unknown> | undefined;
  /** The route of key bytes of a store; undefined before the first assignment. */
  route(store: string, keyBytes: Uint8Array): KeyRoute | undefined;
  /** Every other instance's endpoint, from the latest assignment. */
  otherEndpoints(): string[];
  /** The endpoint the latest assignment gives task `taskId` to as active; undefined when unknown or none. */
  activeEndpointOf(taskId: string): string | undefined;
  /** The store as a task runs it here: as an active task, or (`standby`) as a replica; undefined if it does not. */
  localStore(taskId: string, store: string, standby: boolean): unknown;
  /** The ids of the tasks running here as active that have `store`. */
  activeTasksWith(store: string): string[];
}
