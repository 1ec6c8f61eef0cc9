// Metric hooks a metered store calls; absent hooks cost nothing.

export type StoreOperation = 'get' | 'put' | 'delete' | 'range';

export interface StoreMetricsHooks {
  /** Called after each operation with its duration in nanoseconds (measured only when this hook is set). */
  onOperation?(store: string, operation: StoreOperation, durationNs: number): void;
  /** Called on each cache lookup of a caching layer. */
  onCacheLookup?(store: string, hit: boolean): void;
}
