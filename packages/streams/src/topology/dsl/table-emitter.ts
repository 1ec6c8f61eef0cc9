// Forwards a table's changes downstream: each at once, or (caching on) folded per key until the next flush.
import type { RecordHeaders } from '../../kafka/port.js';
import { FEEDS_REPARTITION_TOPIC } from '../context-facts.js';
import type { ProcessorContext } from '../processor.js';
import type { Change } from './change.js';

/** @internal a change held back until the next flush. */
export interface Held<K, V> {
  key: K;
  change: Change<V>;
  timestamp: number;
  headers: RecordHeaders;
}

/**
 * With a bound of 0 every change is forwarded as it happens. Otherwise the first old value and the last new value
 * of each key are held until `flush()` (the task's commit) or until more than `bound` keys are held; a key whose
 * value went from absent back to absent forwards nothing. A table whose changes reach a repartition topic never holds
 * them back (see FEEDS_REPARTITION_TOPIC).
 */
export class TableEmitter<K, V> {
  private readonly held = new Map<string, Held<K, V>>();
  private readonly bound: number;

  constructor(
    private readonly ctx: ProcessorContext<K, Change<V>>,
    bound: number,
    private readonly keyId: (key: K) => string,
  ) {
    this.bound = emitterBound(ctx, bound);
  }

  emit(key: K, newValue: V | null, oldValue: V | null, timestamp: number, headers: RecordHeaders): void {
    if (this.bound === 0) {
      this.ctx.forward({ key, value: { newValue, oldValue }, timestamp, headers });
      return;
    }
    const id = this.keyId(key);
    const held = this.held.get(id);
    if (held !== undefined) {
      held.change.newValue = newValue;
      held.timestamp = timestamp;
      held.headers = headers;
      return;
    }
    this.held.set(id, { key, change: { newValue, oldValue }, timestamp, headers });
    if (this.held.size > this.bound) this.flush();
  }

  flush(): void {
    if (this.held.size === 0) return;
    const held = [...this.held.values()];
    this.held.clear();
    forwardHeld(this.ctx, held);
  }
}

/** @internal the bound of held keys: 0 (hold nothing back) for a table whose changes reach a repartition topic. */
export function emitterBound(ctx: ProcessorContext<unknown, unknown>, bound: number): number {
  const facts = ctx as { [FEEDS_REPARTITION_TOPIC]?: boolean };
  return facts[FEEDS_REPARTITION_TOPIC] === true ? 0 : bound;
}

/** @internal forwards held changes in order; a key whose value went from absent back to absent forwards nothing. */
export function forwardHeld<K, V>(ctx: ProcessorContext<K, Change<V>>, held: readonly Held<K, V>[]): void {
  for (const h of held) {
    if (h.change.newValue === null && h.change.oldValue === null) continue;
    ctx.forward({ key: h.key, value: h.change, timestamp: h.timestamp, headers: h.headers });
  }
}
