// Runs scenarios of the differential suite in one JVM, each as its own KafkaStreams instance.
package dev.eddy.differential;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.BuiltInDslStoreSuppliers;

/**
 * Usage: {@code Main <bootstrap servers> <state dir> <scenario spec>...}, where a spec is
 * {@code <scenario>|<application id>|<output topic>|<input topic>[,<input topic>...]}.
 *
 * <p>Stdout carries one line per event the harness waits on: {@code RUNNING <application id>} each time an
 * instance reaches RUNNING, {@code FAILED <application id> <error>} when one dies. SIGTERM closes every instance
 * and exits with status 0.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws InterruptedException {
    if (args.length < 3) {
      System.err.println("usage: Main <bootstrap servers> <state dir> <scenario|appId|output|inputs>...");
      System.exit(2);
    }
    String bootstrap = args[0];
    String stateDir = args[1];
    List<KafkaStreams> instances = new ArrayList<>();
    for (String spec : Arrays.asList(args).subList(2, args.length)) {
      String[] parts = spec.split("\\|", -1);
      if (parts.length != 4) throw new IllegalArgumentException("bad scenario spec: " + spec);
      String scenario = parts[0];
      String applicationId = parts[1];
      String output = parts[2];
      List<String> inputs = Arrays.asList(parts[3].split(","));
      Topology topology = Scenarios.build(scenario, inputs, output);
      KafkaStreams streams =
          new KafkaStreams(topology, config(bootstrap, stateDir, applicationId, Scenarios.cached(scenario)));
      streams.setStateListener(
          (now, before) -> {
            if (now == KafkaStreams.State.RUNNING) say("RUNNING " + applicationId);
          });
      streams.setUncaughtExceptionHandler(
          error -> {
            say("FAILED " + applicationId + " " + error.toString().replace('\n', ' '));
            error.printStackTrace();
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
          });
      instances.add(streams);
    }

    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  instances.parallelStream().forEach(s -> s.close(Duration.ofSeconds(20)));
                  closed.countDown();
                  System.out.flush();
                  System.err.flush();
                  // A JVM ended by SIGTERM exits with 143 even when every hook finished: report the clean close.
                  Runtime.getRuntime().halt(0);
                }));
    for (KafkaStreams s : instances) s.start();
    closed.await();
  }

  private static Properties config(
      String bootstrap, String stateDir, String applicationId, boolean cached) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    p.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    // Every update reaches the output (no caching) and is committed quickly, so emitted sequences are defined; a
    // cached scenario gets a 10 MiB record cache (its outputs are compared by final values only).
    p.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, cached ? 10L * 1024 * 1024 : 0L);
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
    // In-memory stores: same semantics as RocksDB, less start-up work for many instances in one JVM.
    p.put(
        StreamsConfig.DSL_STORE_SUPPLIERS_CLASS_CONFIG,
        BuiltInDslStoreSuppliers.InMemoryDslStoreSuppliers.class);
    // A left/outer stream-stream join emits its unmatched records once their window closes; without this it checks
    // at most once a second of wall-clock time, which would make their place in the output depend on timing.
    p.put(StreamsConfig.InternalConfig.EMIT_INTERVAL_MS_KSTREAMS_OUTER_JOIN_SPURIOUS_RESULTS_FIX, 0L);
    p.put(StreamsConfig.consumerPrefix("auto.offset.reset"), "earliest");
    return p;
  }

  private static synchronized void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
