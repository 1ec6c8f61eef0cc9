// The typed window store over the bytes layers: segmented keys, retention by range delete, serdes, replay dropping.
import type { WindowedKeyValue, WindowStore } from '../api/window-store.js';
import type { KeyBounds } from '../internal/bytes.js';
import {
  assertTime,
  decodeSegmentedKey,
  encodeSegmentedKey,
  keyTimeBounds,
  segmentBounds,
  segmentOf,
} from './segmented-key.js';
import { SegmentedStore } from './segmented-store.js';

export class MeteredWindowStore<K, V> extends SegmentedStore<K, V> implements WindowStore<K, V> {
  put(key: K, value: V | null, windowStart: number): void {
    this.status.assertOpen();
    assertTime('windowStart', windowStart);
    if (this.guard.isReplay()) return;
    this.retention.observe(windowStart, this.inner);
    if (this.retention.isExpired(windowStart)) return;
    const segment = segmentOf(windowStart, this.retention.segmentIntervalMs);
    const bytes = encodeSegmentedKey(segment, this.keySerde.serialize(key), [windowStart]);
    this.inner.put(bytes, value === null ? null : this.valueSerde.serialize(value));
  }

  fetch(key: K, windowStart: number): V | undefined {
    this.status.assertOpen();
    assertTime('windowStart', windowStart);
    if (this.retention.isExpired(windowStart)) return undefined;
    const segment = segmentOf(windowStart, this.retention.segmentIntervalMs);
    const bytes = this.inner.get(encodeSegmentedKey(segment, this.keySerde.serialize(key), [windowStart]));
    return bytes === undefined ? undefined : this.valueSerde.deserialize(bytes);
  }

  fetchRange(key: K, timeFrom: number, timeTo: number): AsyncIterableIterator<WindowedKeyValue<K, V>> {
    this.status.assertOpen();
    assertTime('timeFrom', timeFrom);
    assertTime('timeTo', timeTo);
    return this.scanKey(this.keySerde.serialize(key), timeFrom, timeTo);
  }

  fetchAll(timeFrom: number, timeTo: number): AsyncIterableIterator<WindowedKeyValue<K, V>> {
    this.status.assertOpen();
    assertTime('timeFrom', timeFrom);
    assertTime('timeTo', timeTo);
    const from = Math.max(timeFrom, this.retention.lowestLive());
    const interval = this.retention.segmentIntervalMs;
    const last = segmentOf(timeTo, interval);
    const bounds = segmentBounds(
      segmentOf(from, interval),
      last === Number.MAX_SAFE_INTEGER ? undefined : last + 1,
    );
    return this.scan(bounds, from, timeTo);
  }

  private async *scanKey(
    key: Uint8Array,
    timeFrom: number,
    timeTo: number,
  ): AsyncGenerator<WindowedKeyValue<K, V>> {
    const from = Math.max(timeFrom, this.retention.lowestLive());
    if (from > timeTo) return;
    const interval = this.retention.segmentIntervalMs;
    // Without an observed stream time the last segment is unknown: stop at the requested end instead.
    const upper = this.retention.streamTime >= 0 ? Math.min(timeTo, this.retention.streamTime) : timeTo;
    const lastSegment = segmentOf(upper, interval);
    const firstSegment = segmentOf(from, interval);
    if (lastSegment - firstSegment > 10_000) {
      const bounds = segmentBounds(firstSegment, lastSegment + 1);
      for await (const entry of this.scan(bounds, from, timeTo)) {
        if (Buffer.compare(this.keySerde.serialize(entry.key), key) === 0) yield entry;
      }
      return;
    }
    for (let segment = firstSegment; segment <= lastSegment; segment++) {
      yield* this.scan(keyTimeBounds(segment, key, from, timeTo), from, timeTo);
    }
  }

  private async *scan(bounds: KeyBounds, from: number, to: number): AsyncGenerator<WindowedKeyValue<K, V>> {
    for await (const [bytes, value] of this.inner.range(bounds)) {
      this.status.assertOpen();
      const decoded = decodeSegmentedKey(bytes, 1);
      const windowStart = decoded.times[0]!;
      if (windowStart < from || windowStart > to || this.retention.isExpired(windowStart)) continue;
      yield {
        key: this.keySerde.deserialize(decoded.key),
        windowStart,
        value: this.valueSerde.deserialize(value),
      };
    }
  }
}
