// The in-memory engine: a map kept sorted on demand; writes apply at once, the checkpoint lives in memory.
import { StateStoreError } from '../errors.js';
import { compareBytes, inBounds, type KeyBounds, mapKey } from '../internal/bytes.js';
import type { BytesEntry, PendingEntry } from '../internal/merge-overlay.js';
import type { Checkpoint } from './checkpoint.js';
import type { EngineState, StoreEngine } from './store-engine.js';

interface Slot {
  key: Uint8Array;
  value: Uint8Array;
}

export class MemoryEngine implements StoreEngine {
  readonly persistent = false;
  private state: EngineState = 'created';
  private readonly data = new Map<string, Slot>();
  private sorted: Slot[] | undefined;
  private checkpoint: Checkpoint | undefined;

  constructor(readonly name: string) {}

  async open(): Promise<Checkpoint | undefined> {
    this.state = 'open';
    return this.checkpoint;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.assertOpen();
    return this.data.get(mapKey(key))?.value;
  }

  put(key: Uint8Array, value: Uint8Array | null): void {
    this.assertOpen();
    const id = mapKey(key);
    if (value === null) {
      if (this.data.delete(id)) this.sorted = undefined;
      return;
    }
    const slot = this.data.get(id);
    if (slot !== undefined) {
      slot.value = value;
    } else {
      this.data.set(id, { key, value });
      this.sorted = undefined;
    }
  }

  deleteRange(bounds: KeyBounds): void {
    this.assertOpen();
    for (const [id, slot] of this.data) {
      if (inBounds(slot.key, bounds)) {
        this.data.delete(id);
        this.sorted = undefined;
      }
    }
  }

  async *range(bounds: KeyBounds): AsyncGenerator<BytesEntry> {
    this.assertOpen();
    const slots = this.sortedSlots();
    let lo = 0;
    let hi = slots.length;
    if (bounds.gte !== undefined) {
      const gte = bounds.gte;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareBytes(slots[mid]!.key, gte) < 0) lo = mid + 1;
        else hi = mid;
      }
    }
    for (let i = lo; i < slots.length; i++) {
      const slot = slots[i]!;
      if (!inBounds(slot.key, bounds)) break;
      yield [slot.key, slot.value];
    }
  }

  approximateNumEntries(): number {
    this.assertOpen();
    return this.data.size;
  }

  pendingBytes(): number {
    return 0;
  }

  async commit(checkpoint: Checkpoint): Promise<void> {
    this.assertOpen();
    this.checkpoint = checkpoint;
  }

  async writeBatch(entries: readonly PendingEntry[], checkpoint: Checkpoint): Promise<void> {
    this.assertOpen();
    for (const [key, value] of entries) this.put(key, value);
    this.checkpoint = checkpoint;
  }

  async wipe(): Promise<void> {
    this.state = 'open';
    this.data.clear();
    this.sorted = undefined;
    this.checkpoint = undefined;
  }

  async close(): Promise<void> {
    this.state = 'closed';
  }

  private sortedSlots(): Slot[] {
    if (this.sorted === undefined) {
      this.sorted = [...this.data.values()].sort((a, b) => compareBytes(a.key, b.key));
    }
    return this.sorted;
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      const code = this.state === 'closed' ? 'STORE_CLOSED' : 'STORE_NOT_OPEN';
      throw new StateStoreError(code, `store "${this.name}" is ${this.state}`, { store: this.name });
    }
  }
}
