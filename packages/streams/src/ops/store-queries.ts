// Interactive queries against one local store: key lookups and scans of key-value and window stores, as JSON.

/** The store kinds the HTTP queries serve, told apart by the methods the typed store offers. */
export type QueryableKind = 'key-value' | 'window';

interface KeyValueLike {
  get(key: unknown): unknown;
  range(from?: unknown, to?: unknown): AsyncIterable<{ key: unknown; value: unknown }>;
  all(): AsyncIterable<{ key: unknown; value: unknown }>;
}

interface WindowLike {
  fetchRange(key: unknown, from: number, to: number): AsyncIterable<WindowEntry>;
  fetchAll(from: number, to: number): AsyncIterable<WindowEntry>;
}

interface WindowEntry {
  key: unknown;
  windowStart: number;
  value: unknown;
}

/** A window store whose values are `{ value, timestamp }` (a windowed aggregation's), seen with plain values. */
export function plainWindowValues(store: unknown): unknown {
  const windows = store as WindowLike;
  async function* plain(entries: AsyncIterable<WindowEntry>): AsyncIterable<WindowEntry> {
    for await (const e of entries) yield { ...e, value: (e.value as { value: unknown }).value };
  }
  return {
    fetchRange: (key: unknown, from: number, to: number) => plain(windows.fetchRange(key, from, to)),
    fetchAll: (from: number, to: number) => plain(windows.fetchAll(from, to)),
  } satisfies WindowLike;
}

/** One entry of an answer, as JSON. */
export interface JsonEntry {
  key: unknown;
  value: unknown;
  windowStart?: number;
}

/** The most entries one scan answers; a longer scan is cut and says `truncated`. */
export const MAX_SCAN_ENTRIES = 10_000;

export function kindOf(store: unknown): QueryableKind | undefined {
  const s = store as Record<string, unknown>;
  if (typeof s.fetchRange === 'function' && typeof s.fetchAll === 'function') return 'window';
  if (typeof s.get === 'function' && typeof s.range === 'function' && typeof s.all === 'function') {
    return 'key-value';
  }
  return undefined;
}

/** A time range of windows (`from`/`to` in epoch ms, inclusive). */
export interface TimeRange {
  from: number;
  to: number;
}

/** A key's value (`found` false when absent), or its windows in `range`. */
export async function lookupKey(
  store: unknown,
  kind: QueryableKind,
  key: unknown,
  range: TimeRange,
): Promise<{ found: boolean; value?: unknown; windows?: JsonEntry[] }> {
  if (kind === 'key-value') {
    const value = (store as KeyValueLike).get(key);
    return value === undefined ? { found: false } : { found: true, value: toJsonValue(value) };
  }
  const windows: JsonEntry[] = [];
  for await (const e of (store as WindowLike).fetchRange(key, range.from, range.to)) {
    windows.push({ key: toJsonValue(e.key), windowStart: e.windowStart, value: toJsonValue(e.value) });
    if (windows.length >= MAX_SCAN_ENTRIES) break;
  }
  return { found: true, windows };
}

/** A scan: `all` entries, or a key range between parsed keys (inclusive, either may be absent). */
export interface KeyScan {
  from?: unknown;
  to?: unknown;
  /** Window stores: the windows' time range (of their starts). */
  time: TimeRange;
  all: boolean;
  /** Window stores, for a key range: whether a key lies in it (the store offers no key-ordered window scan). */
  inRange?: (key: unknown) => boolean;
}

/**
 * Entries of a scan: of a key-value store, all or a key range; of a window store, the windows within `time`, all or
 * those of the keys in range (read from all the windows of the time range and filtered).
 */
export async function scanStore(
  store: unknown,
  kind: QueryableKind,
  scan: KeyScan,
  limit: number,
): Promise<JsonEntry[]> {
  const out: JsonEntry[] = [];
  if (limit <= 0) return out;
  if (kind === 'key-value') {
    const kv = store as KeyValueLike;
    const entries = scan.all ? kv.all() : kv.range(scan.from, scan.to);
    for await (const e of entries) {
      out.push({ key: toJsonValue(e.key), value: toJsonValue(e.value) });
      if (out.length >= limit) break;
    }
    return out;
  }
  const inRange = scan.all ? undefined : scan.inRange;
  for await (const e of (store as WindowLike).fetchAll(scan.time.from, scan.time.to)) {
    if (inRange !== undefined && !inRange(e.key)) continue;
    out.push({ key: toJsonValue(e.key), windowStart: e.windowStart, value: toJsonValue(e.value) });
    if (out.length >= limit) break;
  }
  return out;
}

/** A store value as JSON: bigints as decimal strings, bytes as base64, maps as objects; other objects field by field. */
export function toJsonValue(value: unknown, depth = 0): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  if (depth > 32) return null;
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (Array.isArray(value)) return value.map((v) => toJsonValue(v, depth + 1));
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [String(k), toJsonValue(v, depth + 1)]));
  }
  if (value instanceof Date) return value.toISOString();
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toJsonValue(v, depth + 1);
  return out;
}
