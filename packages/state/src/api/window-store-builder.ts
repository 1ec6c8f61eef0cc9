// Builders of typed window and session stores over the same layers and engines as key-value stores.
import { StateStoreError } from '../errors.js';
import { MeteredSessionStore } from '../window/metered-session-store.js';
import { MeteredWindowStore } from '../window/metered-window-store.js';
import { SegmentRetention } from '../window/retention.js';
import { decodeSegmentedKey, segmentedKeyProblem } from '../window/segmented-key.js';
import type { Serde } from './serde.js';
import type { SessionStore } from './session-store.js';
import type { StoreBuilder, StoreOptions } from './store-builder.js';
import type { WindowStore } from './window-store.js';

export interface TimeBoundedStoreOptions<K, V> extends StoreOptions {
  keySerde: Serde<K>;
  valueSerde: Serde<V>;
  /** Data older than this (in stream time) is dropped. */
  retentionMs: number;
  /** Width of the time slices dropped together; default max(retentionMs / 2, 1). */
  segmentIntervalMs?: number;
}

function retentionOf(options: TimeBoundedStoreOptions<unknown, unknown>): SegmentRetention {
  const { retentionMs } = options;
  const interval = options.segmentIntervalMs ?? Math.max(1, Math.floor(retentionMs / 2));
  if (
    !Number.isSafeInteger(retentionMs) ||
    retentionMs < 1 ||
    !Number.isSafeInteger(interval) ||
    interval < 1
  ) {
    throw new StateStoreError(
      'INVALID_ARGUMENT',
      'retentionMs and segmentIntervalMs must be positive integers',
      {
        store: options.name,
      },
    );
  }
  return new SegmentRetention(retentionMs, interval);
}

/** Both typed stores take the same parts: the layers, serdes, a fresh retention per task, and lifecycle hooks. */
function segmentedBuilder<K, V, S>(
  options: TimeBoundedStoreOptions<K, V>,
  timeCount: number,
  Store: new (...args: ConstructorParameters<typeof MeteredWindowStore<K, V>>) => S,
): StoreBuilder<S> {
  const check = retentionOf(options as TimeBoundedStoreOptions<unknown, unknown>);
  return {
    options,
    build: (p) =>
      new Store(
        p.top,
        options.keySerde,
        options.valueSerde,
        new SegmentRetention(check.retentionMs, check.segmentIntervalMs, p.streamTime),
        p.status,
        p.guard,
        p.flush,
        p.close,
        p.cache,
      ),
    // Window keys hold the window start, session keys the session end: the times stream time follows.
    timeOfKey: (key) => decodeSegmentedKey(key, 1).times[0]!,
    checkRestored: (key) => segmentedKeyProblem(key, timeCount, check.segmentIntervalMs),
  };
}

export function windowStore<K, V>(options: TimeBoundedStoreOptions<K, V>): StoreBuilder<WindowStore<K, V>> {
  return segmentedBuilder<K, V, WindowStore<K, V>>(options, 1, MeteredWindowStore);
}

export function sessionStore<K, V>(options: TimeBoundedStoreOptions<K, V>): StoreBuilder<SessionStore<K, V>> {
  return segmentedBuilder<K, V, SessionStore<K, V>>(options, 2, MeteredSessionStore);
}
