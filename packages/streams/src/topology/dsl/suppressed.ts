// How a table's suppression is configured: when a key's update may leave the buffer, and what a full buffer does.
import { StreamsError } from '../../errors.js';
import type { Windowed } from './windowed.js';

/** What a full buffer does: emit its oldest entries early, or stop the application with SUPPRESSION_BUFFER_FULL. */
export type BufferFullPolicy = 'emit-early' | 'shut-down';

/** The bounds of a suppression buffer (records and estimated bytes) and what happens when they are passed. */
export class BufferConfig<P extends BufferFullPolicy = BufferFullPolicy> {
  private constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
    readonly whenFull: P,
  ) {}

  /** At most `n` keys buffered; when full, the oldest are emitted early (`.shutDownWhenFull()` to fail instead). */
  static maxRecords(n: number): BufferConfig<'emit-early'> {
    return new BufferConfig(positive('maxRecords', n), Number.POSITIVE_INFINITY, 'emit-early');
  }

  /** At most about `n` bytes buffered (keys, values, headers); when full, the oldest are emitted early. */
  static maxBytes(n: number): BufferConfig<'emit-early'> {
    return new BufferConfig(Number.POSITIVE_INFINITY, positive('maxBytes', n), 'emit-early');
  }

  /** No bound: the buffer grows as needed (its state store holds it). */
  static unbounded(): BufferConfig<'shut-down'> {
    return new BufferConfig(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 'shut-down');
  }

  withMaxRecords(n: number): BufferConfig<P> {
    return new BufferConfig(positive('maxRecords', n), this.maxBytes, this.whenFull);
  }

  withMaxBytes(n: number): BufferConfig<P> {
    return new BufferConfig(this.maxRecords, positive('maxBytes', n), this.whenFull);
  }

  /** A full buffer emits its oldest entries (by buffer time, then key bytes) before their time. */
  emitEarlyWhenFull(): BufferConfig<'emit-early'> {
    return new BufferConfig(this.maxRecords, this.maxBytes, 'emit-early');
  }

  /** A full buffer fails the record with SUPPRESSION_BUFFER_FULL, which stops the application. */
  shutDownWhenFull(): BufferConfig<'shut-down'> {
    return new BufferConfig(this.maxRecords, this.maxBytes, 'shut-down');
  }
}

function positive(what: string, n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new StreamsError('INVALID_TOPOLOGY', `BufferConfig.${what} must be a positive integer, got ${n}`);
  }
  return n;
}

/**
 * When a suppressed table forwards a key's update. `K` is the table key the suppression fits (windowed tables only
 * for `untilWindowCloses`).
 */
export class Suppressed<K> {
  /** @internal checks the key type: a suppression for `Windowed` keys does not fit a table with other keys. */
  declare readonly keyType?: (key: K) => void;

  private constructor(
    /** @internal */
    readonly kind: 'window-close' | 'time-limit',
    /** @internal time limit (ms of stream time) of `untilTimeLimit` */
    readonly timeLimitMs: number,
    readonly bufferConfig: BufferConfig,
    /** Names the suppression's node; its buffer store is `<name>-store`. */
    readonly name: string | undefined,
  ) {}

  /**
   * Emits only the final result of each window, once stream time reaches the window's end + grace (for sessions:
   * end + gap + grace), and drops windows whose final result is a deletion. The buffer may fail when full, never
   * emit early: an early result would not be final.
   */
  static untilWindowCloses(bufferConfig: BufferConfig<'shut-down'>): Suppressed<Windowed<unknown>> {
    return new Suppressed<Windowed<unknown>>('window-close', 0, bufferConfig, undefined);
  }

  /**
   * Holds a key's updates until `timeLimitMs` of stream time has passed since its first buffered update, then
   * forwards its latest change (deletions included).
   */
  static untilTimeLimit<K = unknown>(timeLimitMs: number, bufferConfig: BufferConfig): Suppressed<K> {
    if (!Number.isSafeInteger(timeLimitMs) || timeLimitMs < 0) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `untilTimeLimit needs an integer time limit >= 0 (ms), got ${timeLimitMs}`,
      );
    }
    return new Suppressed<K>('time-limit', timeLimitMs, bufferConfig, undefined);
  }

  withName(name: string): Suppressed<K> {
    return new Suppressed<K>(this.kind, this.timeLimitMs, this.bufferConfig, name);
  }
}
