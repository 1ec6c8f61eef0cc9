// The Kafka Streams side of the peers benchmark (bench:peers): the count with a RocksDB store.
package dev.eddy.peers;

import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Usage: {@code CountApp <bootstrap servers> <state dir> <application id> <input> <output> <guarantee>
 * <commit interval ms> <stream threads>}, where the guarantee is {@code at_least_once} or {@code exactly_once_v2}.
 *
 * <p>Counts records per key in the RocksDB store {@code counts} and writes every new count to the output as a
 * decimal string, as Eddy's word-count topology does: no record cache, so each input gives one changelog record and
 * one output. Prints {@code FAILED <error>} and exits with status 1 when the stream thread dies; SIGTERM closes the
 * instance and exits with status 0.
 */
public final class CountApp {
  private CountApp() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length != 8) {
      System.err.println(
          "usage: CountApp <bootstrap> <state dir> <application id> <input> <output> <guarantee> <commit ms>"
              + " <threads>");
      System.exit(2);
    }
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(args[3], Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey(Grouped.with(Serdes.String(), Serdes.String()))
        .count(Materialized.<String, Long, KeyValueStore<Bytes, byte[]>>as("counts"))
        .toStream()
        .mapValues(n -> Long.toString(n))
        .to(args[4], Produced.with(Serdes.String(), Serdes.String()));

    Properties p = new Properties();
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    p.put(StreamsConfig.STATE_DIR_CONFIG, args[1]);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, args[2]);
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, args[5]);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Integer.parseInt(args[6]));
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(args[7]));
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0L);
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");

    KafkaStreams streams = new KafkaStreams(builder.build(), p);
    streams.setUncaughtExceptionHandler(
        error -> {
          System.out.println("FAILED " + error.toString().replace('\n', ' '));
          System.out.flush();
          error.printStackTrace();
          Runtime.getRuntime().halt(1);
          return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
        });
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  streams.close(Duration.ofSeconds(20));
                  closed.countDown();
                  System.out.flush();
                  // A JVM ended by SIGTERM exits with 143 even when every hook finished: report the clean close.
                  Runtime.getRuntime().halt(0);
                }));
    streams.start();
    closed.await();
  }
}
