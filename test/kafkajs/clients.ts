// Shared setup for the kafkajs compatibility tests: fast consumer settings and a registry that disconnects clients.
import type { Admin, Consumer, ConsumerConfig, ConsumerGroupJoinEvent, Kafka, Producer } from 'kafkajs';
import { testKafka, uniqueName, waitFor } from '../support/kafka.js';

type Client = Admin | Consumer | Producer;

/** Consumer settings that keep joins, rebalances and empty fetches short on a single local broker. */
export function fastConsumerConfig(groupId: string, extra: Partial<ConsumerConfig> = {}): ConsumerConfig {
  return {
    groupId,
    sessionTimeout: 10_000,
    rebalanceTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 200,
    retry: { retries: 3, initialRetryTime: 100 },
    ...extra,
  };
}

/** Creates clients on one Kafka instance and disconnects all of them in `closeAll()` (call it from `afterEach`). */
export class ClientRegistry {
  readonly kafka: Kafka = testKafka();
  readonly #clients: Client[] = [];

  track<C extends Client>(client: C): C {
    this.#clients.push(client);
    return client;
  }

  async admin(): Promise<Admin> {
    const admin = this.track(this.kafka.admin());
    await admin.connect();
    return admin;
  }

  async producer(config: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> {
    const producer = this.track(this.kafka.producer(config));
    await producer.connect();
    return producer;
  }

  async consumer(config: ConsumerConfig): Promise<Consumer> {
    const consumer = this.track(this.kafka.consumer(config));
    await consumer.connect();
    return consumer;
  }

  /** Reads `topic` from the beginning with the given isolation until a value equal to `last` arrives. */
  async readUntil(topic: string, last: string, { readUncommitted = false } = {}): Promise<string[]> {
    const consumer = await this.consumer(fastConsumerConfig(uniqueName('reader'), { readUncommitted }));
    const values: string[] = [];
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value?.toString() ?? '');
      },
    });
    await waitFor(() => values.includes(last), { timeoutMs: 15_000, what: `"${last}" on ${topic}` });
    await consumer.disconnect();
    return values;
  }

  async closeAll(): Promise<void> {
    const clients = this.#clients.splice(0).reverse();
    await Promise.allSettled(clients.map((c) => c.disconnect()));
  }
}

/** Resolves with the payload of the consumer's next GROUP_JOIN event (register before `run()`). */
export function nextGroupJoin(consumer: Consumer): Promise<ConsumerGroupJoinEvent['payload']> {
  return new Promise((resolve) => {
    const remove = consumer.on(consumer.events.GROUP_JOIN, (event) => {
      remove();
      resolve(event.payload);
    });
  });
}
