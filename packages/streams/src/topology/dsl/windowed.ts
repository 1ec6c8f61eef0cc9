// A windowed key: the key of a windowed aggregation's result, with the bounds of its window.

/** A window's bounds in ms: `start` inclusive; `end` exclusive for time windows, inclusive for sliding windows and sessions. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

export interface Windowed<K> {
  readonly key: K;
  readonly window: Window;
}
