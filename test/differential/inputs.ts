// Deterministic input for the differential scenarios: a seeded PRNG, event-time shapes with out-of-order and late
// records, unique timestamps, the default (murmur2) partition of each key, and the closing 'flush' records.
import { Partitioners } from 'kafkajs';

/** A record as produced to an input topic; `timestamp` is relative to the run's base time until produced. */
export interface InputRecord {
  key: string;
  value: string | null;
  timestamp: number;
}

/** A generator's draw: uniform numbers in [0, 1) and helpers over them. */
export interface Rng {
  (): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** True with probability `p`. */
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** A mulberry32 generator seeded with the FNV-1a hash of `seed`: the same seed gives the same sequence. */
export function seededRng(seed: string): Rng {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) h = Math.imul(h ^ seed.charCodeAt(i), 0x01000193);
  let state = h >>> 0;
  const next = (() => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Rng;
  next.int = (min, max) => min + Math.floor(next() * (max - min + 1));
  next.chance = (p) => next() < p;
  next.pick = (items) => items[Math.floor(next() * items.length)]!;
  return next;
}

/** How event time moves: the clock's step per record, and the share of records that arrive behind it. */
export interface TimeShape {
  stepMs: [number, number];
  /** Share of records whose timestamp lies up to `maxMs` behind the clock (still inside the grace period, mostly). */
  outOfOrder?: { p: number; maxMs: number };
  /** Share of records whose timestamp lies `minMs`..`maxMs` behind the clock (past any grace period). */
  late?: { p: number; minMs: number; maxMs: number };
}

/**
 * A clock over a scenario's events: `next()` gives each event's timestamp (relative, ms), never one already given
 * to another event of the scenario, so records of different topics never tie in timestamp order.
 */
export function eventClock(rng: Rng, shape: TimeShape): { next(): number } {
  let clock = 0;
  const used = new Set<number>();
  return {
    next() {
      clock += rng.int(shape.stepMs[0], shape.stepMs[1]);
      let t = clock;
      if (shape.late && rng.chance(shape.late.p)) t -= rng.int(shape.late.minMs, shape.late.maxMs);
      else if (shape.outOfOrder && rng.chance(shape.outOfOrder.p)) t -= rng.int(1, shape.outOfOrder.maxMs);
      t = Math.max(0, t);
      while (used.has(t)) t++;
      used.add(t);
      return t;
    },
  };
}

const defaultPartitioner = Partitioners.DefaultPartitioner();

/** The partition Kafka's default partitioner (murmur2 of the key, as the Java client) gives `key`. */
export function partitionOf(key: string, partitions: number): number {
  return defaultPartitioner({
    topic: 'any',
    partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({
      partitionErrorCode: 0,
      partitionId,
      leader: 0,
      replicas: [0],
      isr: [0],
    })),
    message: { key, value: null },
  });
}

/** Keys `flush-<n>`, one per partition, each landing on its partition (the same keys for the same count). */
export function flushKeys(partitions: number): string[] {
  const keys: string[] = [];
  for (let n = 0; keys.filter(Boolean).length < partitions; n++) {
    const p = partitionOf(`flush-${n}`, partitions);
    keys[p] ??= `flush-${n}`;
  }
  return keys;
}

/** How far the flush records lie past a scenario's last record: past every window's end and grace. */
export const FLUSH_AFTER_MS = 10 * 60_000;

/**
 * The flush records of input number `topicIndex` of a scenario whose records end at `lastTimestamp`: one per
 * partition, `FLUSH_AFTER_MS` later plus a distinct offset, so stream time passes every window's end and grace on
 * every task of both applications.
 */
export function flushRecords(
  topicIndex: number,
  partitions: number,
  value: string,
  lastTimestamp: number,
): InputRecord[] {
  return flushKeys(partitions).map((key, p) => ({
    key,
    value,
    timestamp: lastTimestamp + FLUSH_AFTER_MS + topicIndex * 1_000 + p,
  }));
}
