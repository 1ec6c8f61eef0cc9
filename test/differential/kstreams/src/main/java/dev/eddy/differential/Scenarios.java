// The Kafka Streams topology of each differential scenario; test/differential/scenarios.ts holds their inputs and
// the equivalent Eddy topologies, under the same names.
package dev.eddy.differential;

import static java.time.Duration.ofSeconds;

import java.util.List;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.SessionWindows;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Outputs use String keys and values: numbers as decimal strings, windowed keys as {@code key@start/end} (ms),
 * join results as {@code left+right} with {@code null} for a missing side, and a deleted row as a null value.
 */
final class Scenarios {
  private static final Serde<String> S = Serdes.String();

  private Scenarios() {}

  static Topology build(String scenario, List<String> inputs, String output) {
    StreamsBuilder b = new StreamsBuilder();
    KStream<String, String> out =
        switch (scenario) {
          case "count-by-key" -> stream(b, inputs.get(0)).groupByKey().count().toStream().mapValues(Scenarios::str);
          case "rekey-count" ->
              // The value (a customer) becomes the key: the count needs a repartition topic.
              stream(b, inputs.get(0))
                  .selectKey((order, customer) -> customer)
                  .groupByKey()
                  .count()
                  .toStream()
                  .mapValues(Scenarios::str);
          case "table-source" -> table(b, inputs.get(0)).toStream();
          case "tumbling-count" ->
              stream(b, inputs.get(0))
                  .groupByKey()
                  .windowedBy(TimeWindows.ofSizeAndGrace(ofSeconds(10), ofSeconds(5)))
                  .count()
                  .toStream((key, count) -> windowed(key))
                  .mapValues(Scenarios::str);
          case "hopping-count" ->
              stream(b, inputs.get(0))
                  .groupByKey()
                  .windowedBy(TimeWindows.ofSizeAndGrace(ofSeconds(10), ofSeconds(5)).advanceBy(ofSeconds(5)))
                  .count()
                  .toStream((key, count) -> windowed(key))
                  .mapValues(Scenarios::str);
          case "session-count" ->
              stream(b, inputs.get(0))
                  .groupByKey()
                  .windowedBy(SessionWindows.ofInactivityGapAndGrace(ofSeconds(5), ofSeconds(5)))
                  .count()
                  .toStream((key, count) -> windowed(key))
                  .mapValues(Scenarios::str);
          case "suppress-tumbling-count" ->
              stream(b, inputs.get(0))
                  .groupByKey()
                  .windowedBy(TimeWindows.ofSizeAndGrace(ofSeconds(10), ofSeconds(2)))
                  .count()
                  .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
                  .toStream((key, count) -> windowed(key))
                  .mapValues(Scenarios::str);
          case "stream-table-left-join" -> {
            KTable<String, String> customers = table(b, inputs.get(1));
            yield stream(b, inputs.get(0)).leftJoin(customers, Scenarios::joined);
          }
          case "stream-stream-left-join" ->
              stream(b, inputs.get(0))
                  .leftJoin(
                      stream(b, inputs.get(1)),
                      Scenarios::joined,
                      JoinWindows.ofTimeDifferenceAndGrace(ofSeconds(5), ofSeconds(2)),
                      StreamJoined.with(S, S, S));
          case "ss-outer-asym" ->
              stream(b, inputs.get(0))
                  .outerJoin(
                      stream(b, inputs.get(1)),
                      Scenarios::joined,
                      JoinWindows.ofTimeDifferenceAndGrace(java.time.Duration.ofMillis(4000), java.time.Duration.ofMillis(1500)).before(java.time.Duration.ofMillis(1000)),
                      StreamJoined.with(S, S, S));
          case "ss-inner-neg" ->
              stream(b, inputs.get(0))
                  .join(
                      stream(b, inputs.get(1)),
                      Scenarios::joined,
                      JoinWindows.ofTimeDifferenceAndGrace(java.time.Duration.ofMillis(4000), java.time.Duration.ofMillis(1000)).before(java.time.Duration.ofMillis(-1000)),
                      StreamJoined.with(S, S, S));
          case "ss-left-nograce" ->
              stream(b, inputs.get(0))
                  .leftJoin(
                      stream(b, inputs.get(1)),
                      Scenarios::joined,
                      JoinWindows.ofTimeDifferenceWithNoGrace(java.time.Duration.ofMillis(1500)).after(java.time.Duration.ofMillis(3000)),
                      StreamJoined.with(S, S, S));
          case "table-table-outer-join" ->
              table(b, inputs.get(0)).outerJoin(table(b, inputs.get(1)), Scenarios::joined).toStream();
          case "fk-join" ->
              // An order's value is "<customer>:<quantity>"; the customer table's key is the customer.
              table(b, inputs.get(0))
                  .join(table(b, inputs.get(1)), (order, value) -> value.split(":")[0], Scenarios::joined)
                  .toStream();
          case "table-groupby-sum", "cached-table-groupby-sum" -> groupBySum(b, inputs.get(0));
          default -> throw new IllegalArgumentException("unknown scenario: " + scenario);
        };
    out.to(output, Produced.with(S, S));
    return b.build();
  }

  /** Whether a scenario runs with a record cache (its name starts with {@code cached-}); the others run without. */
  static boolean cached(String scenario) {
    return scenario.startsWith("cached-");
  }

  /** An item's value is "<group>:<amount>"; the sum per group follows items moving between groups. */
  private static KStream<String, String> groupBySum(StreamsBuilder b, String items) {
    return table(b, items)
        .groupBy((item, value) -> KeyValue.pair(value.split(":")[0], value.split(":")[1]), Grouped.with(S, S))
        .aggregate(
            () -> 0L,
            (group, amount, sum) -> sum + Long.parseLong(amount),
            (group, amount, sum) -> sum - Long.parseLong(amount),
            Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>with(S, Serdes.Long()))
        .toStream()
        .mapValues(Scenarios::str);
  }

  private static KStream<String, String> stream(StreamsBuilder b, String topic) {
    return b.stream(topic, Consumed.with(S, S));
  }

  private static KTable<String, String> table(StreamsBuilder b, String topic) {
    return b.table(topic, Consumed.with(S, S));
  }

  private static String joined(String left, String right) {
    return left + "+" + right;
  }

  private static String windowed(Windowed<String> key) {
    return key.key() + "@" + key.window().start() + "/" + key.window().end();
  }

  private static String str(Long n) {
    return n == null ? null : Long.toString(n);
  }
}
