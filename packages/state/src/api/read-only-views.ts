// Read-only views for queries: hide the write methods of a store behind its read-only interface.
import type { KeyValueStore, ReadOnlyKeyValueStore } from './key-value-store.js';
import type { ReadOnlySessionStore, SessionStore } from './session-store.js';
import type { ReadOnlyWindowStore, WindowStore } from './window-store.js';

export function readOnlyKeyValueStore<K, V>(store: KeyValueStore<K, V>): ReadOnlyKeyValueStore<K, V> {
  return {
    get name() {
      return store.name;
    },
    get: (key) => store.get(key),
    range: (from, to) => store.range(from, to),
    prefixScan: (prefix) => store.prefixScan(prefix),
    all: () => store.all(),
    approximateNumEntries: () => store.approximateNumEntries(),
  };
}

export function readOnlyWindowStore<K, V>(store: WindowStore<K, V>): ReadOnlyWindowStore<K, V> {
  return {
    get name() {
      return store.name;
    },
    get retentionMs() {
      return store.retentionMs;
    },
    fetch: (key, windowStart) => store.fetch(key, windowStart),
    fetchRange: (key, from, to) => store.fetchRange(key, from, to),
    fetchAll: (from, to) => store.fetchAll(from, to),
  };
}

export function readOnlySessionStore<K, V>(store: SessionStore<K, V>): ReadOnlySessionStore<K, V> {
  return {
    get name() {
      return store.name;
    },
    get retentionMs() {
      return store.retentionMs;
    },
    findSessions: (key, earliestEnd, latestStart) => store.findSessions(key, earliestEnd, latestStart),
    fetchSession: (key, start, end) => store.fetchSession(key, start, end),
  };
}
