// Forwards the changes of a table keyed by time windows, folded per key and window until the next flush.
import type { RecordHeaders } from '../../kafka/port.js';
import type { ProcessorContext } from '../processor.js';
import type { Change } from './change.js';
import { emitterBound, forwardHeld, type Held } from './table-emitter.js';
import type { Windowed } from './windowed.js';

/**
 * `TableEmitter` for windows whose end follows from their start (time and sliding windows): held changes are found
 * by window start, then by the key's id, so an update of a held window builds neither an id string for the windowed
 * key nor the `Windowed` object. Forwards in the same order as `TableEmitter` (by first hold).
 */
export class WindowedTableEmitter<K, V> {
  private readonly byStart = new Map<number, Map<string, Held<Windowed<K>, V>>>();
  private held: Held<Windowed<K>, V>[] = [];
  private readonly bound: number;

  constructor(
    private readonly ctx: ProcessorContext<Windowed<K>, Change<V>>,
    bound: number,
    private readonly keyId: (key: K) => string,
  ) {
    this.bound = emitterBound(ctx, bound);
  }

  emit(
    key: K,
    start: number,
    end: number,
    newValue: V | null,
    oldValue: V | null,
    timestamp: number,
    headers: RecordHeaders,
  ): void {
    if (this.bound === 0) {
      this.ctx.forward({
        key: { key, window: { start, end } },
        value: { newValue, oldValue },
        timestamp,
        headers,
      });
      return;
    }
    let window = this.byStart.get(start);
    if (window === undefined) {
      window = new Map();
      this.byStart.set(start, window);
    }
    const id = this.keyId(key);
    const held = window.get(id);
    if (held !== undefined) {
      held.change.newValue = newValue;
      held.timestamp = timestamp;
      held.headers = headers;
      return;
    }
    const h = { key: { key, window: { start, end } }, change: { newValue, oldValue }, timestamp, headers };
    window.set(id, h);
    this.held.push(h);
    if (this.held.length > this.bound) this.flush();
  }

  flush(): void {
    if (this.held.length === 0) return;
    const held = this.held;
    this.held = [];
    this.byStart.clear();
    forwardHeld(this.ctx, held);
  }
}
