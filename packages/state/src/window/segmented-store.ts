// What the typed window and session stores share: the bytes layers below them, serdes, retention and lifecycle.
import type { Serde } from '../api/serde.js';
import type { BytesStore } from '../layers/bytes-store.js';
import type { CachingStore } from '../layers/caching-store.js';
import type { StoreStatus } from '../layers/store-status.js';
import type { ReplayGuard } from '../task/replay-guard.js';
import type { SegmentRetention } from './retention.js';

export abstract class SegmentedStore<K, V> {
  constructor(
    protected readonly inner: BytesStore,
    protected readonly keySerde: Serde<K>,
    protected readonly valueSerde: Serde<V>,
    protected readonly retention: SegmentRetention,
    protected readonly status: StoreStatus,
    protected readonly guard: ReplayGuard,
    private readonly onFlush: () => void,
    private readonly onClose: () => Promise<void>,
    /** The caching layer when it is the top one (see `StoreParts.cache`). */
    protected readonly cache?: CachingStore,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get retentionMs(): number {
    return this.retention.retentionMs;
  }

  flush(): void {
    this.status.assertOpen();
    this.onFlush();
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
