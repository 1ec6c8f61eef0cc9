// The window store interfaces: values per key and window start, kept for a retention period.

export interface WindowedKeyValue<K, V> {
  key: K;
  windowStart: number;
  value: V;
}

export interface ReadOnlyWindowStore<K, V> {
  readonly name: string;
  /** How long (ms of stream time) a window is kept after its start. */
  readonly retentionMs: number;
  fetch(key: K, windowStart: number): V | undefined;
  /** Windows of `key` with `timeFrom <= windowStart <= timeTo`, in window start order. */
  fetchRange(key: K, timeFrom: number, timeTo: number): AsyncIterableIterator<WindowedKeyValue<K, V>>;
  /** Windows of every key with `timeFrom <= windowStart <= timeTo`. */
  fetchAll(timeFrom: number, timeTo: number): AsyncIterableIterator<WindowedKeyValue<K, V>>;
}

export interface WindowStore<K, V> extends ReadOnlyWindowStore<K, V> {
  /** Writes (or with `null`, deletes) the value of `key` in the window starting at `windowStart`. */
  put(key: K, value: V | null, windowStart: number): void;
  flush(): void;
  close(): Promise<void>;
}
