// Writes customers and orders of the orders example to their topics, each order with its own timestamp, in the
// example's format (Avro: the schemas are checked against their subjects and registered first, as a producer's are).
import type { Kafka } from 'kafkajs';
import type { Customer } from './model.js';
import type { TimedOrder } from './sample-data.js';
import { type OrderSerdes, prepareForClient } from './serdes.js';
import type { OrderTopics } from './topics.js';

/**
 * Produces `customers` (timestamped `customersAt`, so that a join of orders placed later finds them) and then
 * `orders`, and waits for every record to be acknowledged.
 */
export async function produceSample(
  kafka: Kafka,
  topics: OrderTopics,
  serdes: OrderSerdes,
  {
    customers = [],
    customersAt = 0,
    orders = [],
  }: { customers?: Customer[]; customersAt?: number; orders?: TimedOrder[] },
): Promise<void> {
  const client = 'orders-producer';
  const customerSerde = serdes.customer();
  const orderSerde = serdes.order();
  if (customers.length > 0) {
    await prepareForClient(customerSerde, { client, topic: topics.customers, writes: true });
  }
  if (orders.length > 0) await prepareForClient(orderSerde, { client, topic: topics.orders, writes: true });
  const producer = kafka.producer();
  await producer.connect();
  try {
    if (customers.length > 0) {
      await producer.send({
        topic: topics.customers,
        messages: customers.map((c) => ({
          key: c.id,
          value: Buffer.from(customerSerde.serialize(c)),
          timestamp: String(customersAt),
        })),
      });
    }
    if (orders.length > 0) {
      await producer.send({
        topic: topics.orders,
        messages: orders.map(({ order, timestamp }) => ({
          key: order.id,
          value: Buffer.from(orderSerde.serialize(order)),
          timestamp: String(timestamp),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}
