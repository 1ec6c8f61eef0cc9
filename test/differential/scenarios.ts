// The differential scenarios: per scenario its input topics and generated records, the name of its Kafka Streams
// topology (kstreams/src/main/java/dev/eddy/differential/Scenarios.java), how outputs are compared, and the
// equivalent Eddy topology. Outputs are String keys and values in both: numbers as decimal strings, windowed keys
// as `key@start/end` (ms), join results as `left+right` with `null` for a missing side, deletions as null values.
import {
  BufferConfig,
  JoinWindows,
  type KTable,
  Serdes,
  SessionWindows,
  type StreamsBuilder,
  Suppressed,
  TimeWindows,
  type Windowed,
} from '@eddy/streams';
import { eventClock, type InputRecord, type Rng, type TimeShape } from './inputs.js';

/**
 * `final`: the last value per output key must be equal. `sequence`: also every value each key took, in order —
 * for outputs whose semantics fix it (no caching: every update is emitted; a task's records are processed in
 * offset order per partition and in timestamp order across its partitions).
 */
export type Comparison = 'final' | 'sequence';

export interface ScenarioInput {
  /** Names the topic and the topology's input. */
  role: string;
  partitions: number;
  /** Value of the input's closing flush records (see inputs.ts `flushRecords`). */
  flushValue: string;
}

/** The topic names of one run of a scenario on one side. */
export interface ScenarioTopics {
  /** Input topic by role. */
  inputs: Record<string, string>;
  output: string;
}

/** Adds a scenario's topology to a builder: reads `topics.inputs`, writes String keys and values to `topics.output`. */
export type EddyTopology = (builder: StreamsBuilder, topics: ScenarioTopics) => void;

export interface Scenario {
  /** Also the name of the Kafka Streams topology. */
  name: string;
  /** What the scenario covers, one line. */
  covers: string;
  inputs: ScenarioInput[];
  /**
   * The records of each input (by role) in production order, timestamps relative to the run's base time; `scale`
   * multiplies the number of records (1 in CI).
   */
  generate(rng: Rng, scale: number): Record<string, InputRecord[]>;
  compare: Comparison;
  /** The Eddy topology, or undefined while the DSL cannot express it yet (the test is skipped). */
  eddy: EddyTopology | undefined;
  /** Set when the Eddy topology is known to give other answers on the current code: why (the test is `it.fails`). */
  knownDifference?: string;
  /**
   * `sequence` only: set when the record timestamps depend on timing although the values do not: why (they are then
   * not compared).
   */
  timestampsVary?: string;
  /**
   * `sequence` only: set when Eddy's values agree but its record timestamps are known to differ on the current code:
   * why (the test then checks that they still differ, and fails once they agree so that the marker goes).
   */
  knownTimestampDifference?: string;
}

const strings = { keySerde: Serdes.string(), valueSerde: Serdes.string() };
/** Every update goes downstream, as in the Kafka Streams twin (statestore.cache.max.bytes=0). */
const uncached = { caching: false };
/** A windowed count's updates written as `key@start/end` → decimal count (null for a deleted window). */
const windowedCounts = (table: KTable<Windowed<string>, number>, output: string) =>
  table
    .toStream()
    .map((w, n) => [`${w.key}@${w.window.start}/${w.window.end}`, decimal(n)])
    .to(output, strings);
/** A join result as `left+right`, `null` for a missing side. */
const joined = (left: string | null, right: string | null) => `${left}+${right}`;
/** A number as its decimal string; a deletion stays null. */
const decimal = (n: number | null) => (n === null ? null : String(n));

/**
 * `KTable.groupBy(...).aggregate(adder, subtractor)`: a sum per group following items that change group or are
 * deleted. Compared by final values: an update goes through the repartition topic as a subtraction and an addition,
 * and how they interleave with other records depends on timing. With caching on (`cached-*`), what each side emits
 * before the end also depends on when commits and cache evictions happen, but the final sums do not.
 */
function groupBySum(name: string, caching: { caching?: boolean }): Scenario {
  return {
    name,
    covers:
      'KTable.groupBy(...).aggregate(adder, subtractor): a sum per group following items (value ' +
      '"<group>:<amount>") that change group or are deleted',
    inputs: [{ role: 'items', partitions: 2, flushValue: 'flush:0' }],
    generate: (rng, scale) => ({
      items: records(rng, 300 * scale, { stepMs: [50, 300] }, (_, timestamp) => ({
        key: rng.pick(keys('i', 20)),
        value: rng.chance(0.1) ? null : `${rng.pick(keys('g', 5))}:${rng.int(1, 100)}`,
        timestamp,
      })),
    }),
    compare: 'final',
    eddy: (b, t) =>
      b
        .table(t.inputs.items!, strings, caching)
        .groupBy((_item, value) => value.split(':') as [string, string], {
          keySerde: Serdes.string(),
          valueSerde: Serdes.string(),
        })
        .aggregate<number>(
          () => 0,
          (_group, amount, sum) => sum + Number(amount),
          (_group, amount, sum) => sum - Number(amount),
          { valueSerde: Serdes.float64(), ...caching },
        )
        .toStream()
        .mapValues(decimal)
        .to(t.output, strings),
  };
}

/** `n` records of one input from `record(i, timestamp)`. */
function records(
  rng: Rng,
  n: number,
  shape: TimeShape,
  record: (i: number, timestamp: number) => InputRecord,
): InputRecord[] {
  const clock = eventClock(rng, shape);
  return Array.from({ length: n }, (_, i) => record(i, clock.next()));
}

/**
 * `n` events spread over several inputs on one clock (so their timestamps never tie): each event goes to an input
 * drawn with the given share (`{ orders: 0.6, customers: 0.4 }`), `record` makes it.
 */
function interleaved(
  rng: Rng,
  n: number,
  shape: TimeShape,
  shares: Record<string, number>,
  record: (role: string, i: number, timestamp: number) => InputRecord,
): Record<string, InputRecord[]> {
  const clock = eventClock(rng, shape);
  const roles = Object.keys(shares);
  const out: Record<string, InputRecord[]> = Object.fromEntries(roles.map((r) => [r, []]));
  for (let i = 0; i < n; i++) {
    const draw = rng();
    let below = 0;
    const role =
      roles.find((r) => {
        below += shares[r]!;
        return draw < below;
      }) ?? roles.at(-1)!;
    out[role]!.push(record(role, i, clock.next()));
  }
  return out;
}

/** Inputs with the given roles and partition count, closed by flush records with the value 'flush'. */
const inputsOf = (partitions: number, ...roles: string[]): ScenarioInput[] =>
  roles.map((role) => ({ role, partitions, flushValue: 'flush' }));

const keys = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Windowed-count input: keys k0..k5, about 3 records a second, some out of order, some past any grace. */
const windowedShape: TimeShape = {
  stepMs: [100, 500],
  outOfOrder: { p: 0.15, maxMs: 6_000 },
  late: { p: 0.05, minMs: 15_000, maxMs: 40_000 },
};
const windowedInput = (rng: Rng, scale: number) => ({
  events: records(rng, 400 * scale, windowedShape, (i, timestamp) => ({
    key: rng.pick(keys('k', 6)),
    value: `v${i}`,
    timestamp,
  })),
});
const events = inputsOf(2, 'events');

/** Stream-stream join input: left and right records over `keyCount` keys, some out of order, some past any grace. */
const streamJoinInputs = (keyCount: number) => (rng: Rng, scale: number) =>
  interleaved(
    rng,
    400 * scale,
    {
      stepMs: [100, 700],
      outOfOrder: { p: 0.15, maxMs: 4_000 },
      late: { p: 0.05, minMs: 10_000, maxMs: 30_000 },
    },
    { left: 0.5, right: 0.5 },
    (role, i, timestamp) => ({
      key: rng.pick(keys('u', keyCount)),
      value: `${role === 'left' ? 'l' : 'r'}${i}`,
      timestamp,
    }),
  );

export const scenarios: Scenario[] = [
  {
    name: 'count-by-key',
    covers: 'groupByKey().count() on the input key: proves the harness end to end',
    inputs: inputsOf(3, 'events'),
    generate: (rng, scale) => ({
      events: records(
        rng,
        300 * scale,
        { stepMs: [50, 150], outOfOrder: { p: 0.1, maxMs: 2_000 } },
        (i, timestamp) => ({
          key: rng.pick(keys('k', 10)),
          value: `v${i}`,
          timestamp,
        }),
      ),
    }),
    compare: 'sequence',
    eddy: (b, t) =>
      b
        .stream(t.inputs.events!, strings)
        .groupByKey()
        .count(uncached)
        .toStream()
        .mapValues(decimal)
        .to(t.output, strings),
  },
  {
    name: 'rekey-count',
    covers: 'a key change (order → customer) then count: needs a repartition topic',
    inputs: inputsOf(3, 'orders'),
    generate: (rng, scale) => ({
      orders: records(rng, 300 * scale, { stepMs: [50, 150] }, (i, timestamp) => ({
        key: `o${i}`,
        value: rng.pick(keys('c', 8)),
        timestamp,
      })),
    }),
    // Counts per key run 1, 2, ..., n whatever the order the customer's orders arrive in.
    compare: 'sequence',
    timestampsVary:
      "three tasks write the repartition topic, so the order in which a customer's orders reach the count, and " +
      'with it the highest timestamp behind each count, depends on timing',
    eddy: (b, t) =>
      b
        .stream(t.inputs.orders!, strings)
        .selectKey((_order, customer) => customer)
        .groupByKey({ keySerde: Serdes.string() })
        .count(uncached)
        .toStream()
        .mapValues(decimal)
        .to(t.output, strings),
  },
  {
    name: 'table-source',
    covers:
      'builder.table(topic).toStream(): every update of a source table, deletions (of present and absent keys) included',
    inputs: inputsOf(2, 'items'),
    generate: (rng, scale) => ({
      items: records(
        rng,
        300 * scale,
        { stepMs: [50, 300], outOfOrder: { p: 0.1, maxMs: 2_000 } },
        (i, timestamp) => ({
          key: rng.pick(keys('i', 15)),
          value: rng.chance(0.2) ? null : `v${i}`,
          timestamp,
        }),
      ),
    }),
    compare: 'sequence',
    eddy: (b, t) => b.table(t.inputs.items!, strings, uncached).toStream().to(t.output, strings),
  },
  {
    name: 'tumbling-count',
    covers: 'TimeWindows.ofSizeAndGrace(10 s, 5 s) count, with out-of-order records and late records dropped',
    inputs: events,
    generate: windowedInput,
    compare: 'sequence',
    eddy: (b, t) =>
      windowedCounts(
        b
          .stream(t.inputs.events!, strings)
          .groupByKey()
          .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 5_000))
          .count(uncached),
        t.output,
      ),
  },
  {
    name: 'hopping-count',
    covers: 'TimeWindows.ofSizeAndGrace(10 s, 5 s).advanceBy(5 s) count: each record in two windows',
    inputs: events,
    generate: windowedInput,
    compare: 'sequence',
    eddy: (b, t) =>
      windowedCounts(
        b
          .stream(t.inputs.events!, strings)
          .groupByKey()
          .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 5_000).advanceBy(5_000))
          .count(uncached),
        t.output,
      ),
  },
  {
    name: 'session-count',
    covers:
      'SessionWindows.ofInactivityGapAndGrace(5 s, 5 s) count: sessions merged by out-of-order records (the ' +
      'merged sessions deleted: null values), late records dropped',
    inputs: events,
    generate: (rng, scale) => ({
      events: records(
        rng,
        300 * scale,
        {
          stepMs: [200, 1_800],
          outOfOrder: { p: 0.15, maxMs: 8_000 },
          late: { p: 0.05, minMs: 20_000, maxMs: 40_000 },
        },
        (i, timestamp) => ({ key: rng.pick(keys('k', 6)), value: `v${i}`, timestamp }),
      ),
    }),
    compare: 'sequence',
    eddy: (b, t) =>
      windowedCounts(
        b
          .stream(t.inputs.events!, strings)
          .groupByKey()
          .windowedBy(SessionWindows.ofInactivityGapAndGrace(5_000, 5_000))
          .count(uncached),
        t.output,
      ),
  },
  {
    name: 'suppress-tumbling-count',
    covers:
      'suppress(untilWindowCloses(unbounded)) on a TimeWindows.ofSizeAndGrace(10 s, 2 s) count: one final count per window',
    inputs: events,
    generate: windowedInput,
    compare: 'sequence',
    eddy: (b, t) =>
      windowedCounts(
        b
          .stream(t.inputs.events!, strings)
          .groupByKey()
          .windowedBy(TimeWindows.ofSizeAndGrace(10_000, 2_000))
          .count(uncached)
          .suppress(Suppressed.untilWindowCloses(BufferConfig.unbounded())),
        t.output,
      ),
  },
  {
    name: 'stream-table-left-join',
    covers:
      'KStream.leftJoin(KTable) on co-partitioned topics, the table updated and deleted between stream records',
    inputs: inputsOf(3, 'orders', 'customers'),
    generate: (rng, scale) =>
      interleaved(
        rng,
        400 * scale,
        { stepMs: [50, 300], outOfOrder: { p: 0.1, maxMs: 2_000 } },
        { orders: 0.55, customers: 0.45 },
        (role, i, timestamp) => ({
          key: rng.pick(keys('c', 10)),
          value: role === 'orders' ? `o${i}` : rng.chance(0.15) ? null : `n${i}`,
          timestamp,
        }),
      ),
    compare: 'sequence',
    eddy: (b, t) =>
      b
        .stream(t.inputs.orders!, strings)
        .leftJoin(b.table(t.inputs.customers!, strings, uncached), joined)
        .to(t.output, strings),
  },
  {
    name: 'stream-stream-left-join',
    covers:
      'KStream.leftJoin(KStream, JoinWindows.ofTimeDifferenceAndGrace(5 s, 2 s)): unmatched left records emitted ' +
      'with null once their window closes, records arriving past the grace period',
    inputs: inputsOf(2, 'left', 'right'),
    generate: streamJoinInputs(6),
    compare: 'sequence',
    eddy: (b, t) =>
      b
        .stream(t.inputs.left!, strings)
        .leftJoin(
          b.stream(t.inputs.right!, strings),
          joined,
          JoinWindows.ofTimeDifferenceAndGrace(5_000, 2_000),
        )
        .to(t.output, strings),
  },
  {
    name: 'ss-outer-asym',
    covers:
      'KStream.outerJoin(KStream, JoinWindows 4 s after, 1 s before, 1.5 s grace): asymmetric windows, ' +
      'unmatched records of both sides, records past the grace period',
    inputs: inputsOf(2, 'left', 'right'),
    generate: streamJoinInputs(4),
    compare: 'sequence',
    eddy: (b, t) =>
      b
        .stream(t.inputs.left!, strings)
        .outerJoin(
          b.stream(t.inputs.right!, strings),
          joined,
          JoinWindows.ofTimeDifferenceAndGrace(4_000, 1_500).before(1_000),
        )
        .to(t.output, strings),
  },
  {
    name: 'ss-inner-neg',
    covers:
      'KStream.join(KStream, JoinWindows 4 s after, -1 s before, 1 s grace): a negative bound (the window ' +
      'excludes equal timestamps), out-of-order and too-old records',
    inputs: inputsOf(2, 'left', 'right'),
    generate: streamJoinInputs(3),
    compare: 'sequence',
    eddy: (b, t) =>
      b
        .stream(t.inputs.left!, strings)
        .join(
          b.stream(t.inputs.right!, strings),
          joined,
          JoinWindows.ofTimeDifferenceAndGrace(4_000, 1_000).before(-1_000),
        )
        .to(t.output, strings),
  },
  {
    name: 'ss-left-nograce',
    covers:
      'KStream.leftJoin(KStream, JoinWindows.ofTimeDifferenceWithNoGrace(1.5 s).after(3 s)): no grace, ' +
      'unmatched left records emitted as soon as their window ends',
    inputs: inputsOf(2, 'left', 'right'),
    generate: streamJoinInputs(5),
    compare: 'sequence',
    eddy: (b, t) =>
      b
        .stream(t.inputs.left!, strings)
        .leftJoin(
          b.stream(t.inputs.right!, strings),
          joined,
          JoinWindows.ofTimeDifferenceWithNoGrace(1_500).after(3_000),
        )
        .to(t.output, strings),
  },
  {
    name: 'table-table-outer-join',
    covers: 'KTable.outerJoin(KTable): every update of either side, deletions included',
    inputs: inputsOf(2, 'left', 'right'),
    generate: (rng, scale) =>
      interleaved(
        rng,
        300 * scale,
        { stepMs: [50, 300], outOfOrder: { p: 0.1, maxMs: 2_000 } },
        { left: 0.5, right: 0.5 },
        (role, i, timestamp) => ({
          key: rng.pick(keys('k', 10)),
          value: rng.chance(0.15) ? null : `${role === 'left' ? 'a' : 'b'}${i}`,
          timestamp,
        }),
      ),
    compare: 'sequence',
    eddy: (b, t) =>
      b
        .table(t.inputs.left!, strings, uncached)
        .outerJoin(b.table(t.inputs.right!, strings, uncached), joined)
        .toStream()
        .to(t.output, strings),
  },
  {
    name: 'fk-join',
    covers:
      'KTable–KTable foreign-key join: orders (value "<customer>:<quantity>") with customers, orders moving ' +
      'between customers, both sides deleted; topics with 3 and 2 partitions',
    inputs: [
      { role: 'orders', partitions: 3, flushValue: 'flush:0' },
      { role: 'customers', partitions: 2, flushValue: 'flush' },
    ],
    generate: (rng, scale) =>
      interleaved(
        rng,
        300 * scale,
        { stepMs: [50, 300] },
        { orders: 0.6, customers: 0.4 },
        (role, i, timestamp) =>
          role === 'orders'
            ? {
                key: rng.pick(keys('o', 20)),
                value: rng.chance(0.1) ? null : `${rng.pick(keys('c', 8))}:${rng.int(1, 9)}`,
                timestamp,
              }
            : { key: rng.pick(keys('c', 8)), value: rng.chance(0.1) ? null : `r${i}`, timestamp },
      ),
    // The subscription and response topics make the order of intermediate results depend on timing.
    compare: 'final',
    eddy: (b, t) =>
      b
        .table(t.inputs.orders!, strings, uncached)
        .join(b.table(t.inputs.customers!, strings, uncached), (order) => order.split(':')[0]!, joined, {
          materialized: { valueSerde: Serdes.string(), caching: false },
        })
        .toStream()
        .to(t.output, strings),
  },
  groupBySum('table-groupby-sum', uncached),
  {
    ...groupBySum('cached-table-groupby-sum', {}),
    covers:
      'table-groupby-sum with caching on (Kafka Streams: a 10 MiB cache, Eddy: the default caches): updates of a key ' +
      'folded between commits on the source table, through the repartition topic, and on the sum',
  },
];
