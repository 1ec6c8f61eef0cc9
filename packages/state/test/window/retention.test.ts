// Expiry range-deletes each segment once: a range reaching back over segments dropped before would re-walk them.
import { describe, expect, it } from 'vitest';
import type { KeyBounds } from '../../src/internal/bytes.js';
import type { BytesStore } from '../../src/layers/bytes-store.js';
import { SegmentRetention } from '../../src/window/retention.js';
import { segmentBounds } from '../../src/window/segmented-key.js';

function recordingStore(): { store: BytesStore; deleted: KeyBounds[] } {
  const deleted: KeyBounds[] = [];
  const store = {
    name: 'w',
    deleteRange: (bounds: KeyBounds) => deleted.push(bounds),
  } as unknown as BytesStore;
  return { store, deleted };
}

describe('SegmentRetention', () => {
  it('drops from segment 0 first, then only the segments that expired since', () => {
    // Retention 100 in segments of 50.
    const retention = new SegmentRetention(100, 50);
    const { store, deleted } = recordingStore();
    retention.observe(10, store);
    expect(deleted).toEqual([]);
    retention.observe(160, store); // cutoff 60: segment 0 (0–49) expired
    retention.observe(260, store); // cutoff 160: segments 1 and 2 expired
    retention.observe(270, store); // no new segment expired
    retention.observe(400, store); // cutoff 300: segments 3 to 5 expired
    expect(deleted).toEqual([segmentBounds(0, 1), segmentBounds(1, 3), segmentBounds(3, 6)]);
  });
});
