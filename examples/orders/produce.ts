// Writes customers and orders of the orders example to their topics, each order with its own timestamp.
import type { Kafka } from 'kafkajs';
import type { Customer } from './model.js';
import type { TimedOrder } from './sample-data.js';
import { orderSerdes as serdes } from './serdes.js';
import type { OrderTopics } from './topics.js';

/**
 * Produces `customers` (timestamped `customersAt`, so that a join of orders placed later finds them) and then
 * `orders`, and waits for every record to be acknowledged.
 */
export async function produceSample(
  kafka: Kafka,
  topics: OrderTopics,
  {
    customers = [],
    customersAt = 0,
    orders = [],
  }: { customers?: Customer[]; customersAt?: number; orders?: TimedOrder[] },
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    if (customers.length > 0) {
      await producer.send({
        topic: topics.customers,
        messages: customers.map((c) => ({
          key: c.id,
          value: Buffer.from(serdes.customer.serialize(c)),
          timestamp: String(customersAt),
        })),
      });
    }
    if (orders.length > 0) {
      await producer.send({
        topic: topics.orders,
        messages: orders.map(({ order, timestamp }) => ({
          key: order.id,
          value: Buffer.from(serdes.order.serialize(order)),
          timestamp: String(timestamp),
        })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}
