// The typed session store: sessions segmented by end time, keyed by key · end · start, retention by range delete.
import type { Session, SessionKeyValue, SessionStore } from '../api/session-store.js';
import { StateStoreError } from '../errors.js';
import {
  assertTime,
  decodeSegmentedKey,
  encodeSegmentedKey,
  keyTimeBounds,
  segmentBounds,
  segmentOf,
} from './segmented-key.js';
import { SegmentedStore } from './segmented-store.js';

export class MeteredSessionStore<K, V> extends SegmentedStore<K, V> implements SessionStore<K, V> {
  put(key: K, session: Session, value: V): void {
    this.write(key, session, value);
  }

  remove(key: K, session: Session): void {
    this.write(key, session, null);
  }

  fetchSession(key: K, start: number, end: number): V | undefined {
    this.status.assertOpen();
    this.assertSession({ start, end });
    if (this.retention.isExpired(end)) return undefined;
    const bytes = this.inner.get(this.encode(this.keySerde.serialize(key), { start, end }));
    return bytes === undefined ? undefined : this.valueSerde.deserialize(bytes);
  }

  findSessions(
    key: K,
    earliestEnd: number,
    latestStart: number,
  ): AsyncIterableIterator<SessionKeyValue<K, V>> {
    this.status.assertOpen();
    assertTime('earliestEnd', earliestEnd);
    assertTime('latestStart', latestStart);
    return this.find(this.keySerde.serialize(key), earliestEnd, latestStart);
  }

  private write(key: K, session: Session, value: V | null): void {
    this.status.assertOpen();
    this.assertSession(session);
    if (this.guard.isReplay()) return;
    this.retention.observe(session.end, this.inner);
    if (this.retention.isExpired(session.end)) return;
    this.inner.put(
      this.encode(this.keySerde.serialize(key), session),
      value === null ? null : this.valueSerde.serialize(value),
    );
  }

  private encode(key: Uint8Array, session: Session): Buffer {
    return encodeSegmentedKey(segmentOf(session.end, this.retention.segmentIntervalMs), key, [
      session.end,
      session.start,
    ]);
  }

  private async *find(
    key: Uint8Array,
    earliestEnd: number,
    latestStart: number,
  ): AsyncGenerator<SessionKeyValue<K, V>> {
    const from = Math.max(earliestEnd, this.retention.lowestLive());
    const interval = this.retention.segmentIntervalMs;
    const firstSegment = segmentOf(from, interval);
    const known = this.retention.streamTime >= 0;
    const lastSegment = known ? segmentOf(this.retention.streamTime, interval) : firstSegment;
    const bounds = known
      ? Array.from({ length: lastSegment - firstSegment + 1 }, (_, i) =>
          keyTimeBounds(firstSegment + i, key, from, Number.MAX_SAFE_INTEGER),
        )
      : [segmentBounds(firstSegment)];
    for (const b of bounds) {
      for await (const [bytes, value] of this.inner.range(b)) {
        this.status.assertOpen();
        const decoded = decodeSegmentedKey(bytes, 2);
        const [end, start] = decoded.times as [number, number];
        if (Buffer.compare(decoded.key, key) !== 0) continue;
        if (end < from || start > latestStart || this.retention.isExpired(end)) continue;
        yield {
          key: this.keySerde.deserialize(decoded.key),
          session: { start, end },
          value: this.valueSerde.deserialize(value),
        };
      }
    }
  }

  private assertSession(session: Session): void {
    assertTime('session.start', session.start);
    assertTime('session.end', session.end);
    if (session.end < session.start) {
      throw new StateStoreError(
        'INVALID_ARGUMENT',
        `session ends (${session.end}) before it starts (${session.start})`,
      );
    }
  }
}
