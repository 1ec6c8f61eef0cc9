// The sample data generator: `tsx examples/orders/generate.ts [topic-prefix] [orders] [customers]` creates the
// example's topics if missing and produces that many customers (default 12) and orders (default 120, one a second
// of event time from now). Reads KAFKA_BROKERS (default 127.0.0.1:39092), SEED (default 1), and the format as the
// app does: Avro through SCHEMA_REGISTRY_URL, or ORDERS_FORMAT=json.
import { Kafka, logLevel } from 'kafkajs';
import { produceSample } from './produce.js';
import { sampleCustomers, sampleOrders } from './sample-data.js';
import { orderSerdesFromEnv } from './serdes.js';
import { createOrderTopics, orderTopics } from './topics.js';

const [prefix = '', orderCount = '120', customerCount = '12'] = process.argv.slice(2);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(',');
const kafka = new Kafka({ clientId: 'orders-generator', brokers, logLevel: logLevel.NOTHING });
const topics = orderTopics(prefix);
const { serdes, close } = orderSerdesFromEnv(process.env);
const customers = sampleCustomers(Number(customerCount));
const start = Date.now();
const orders = sampleOrders(
  customers.map((c) => c.id),
  Number(orderCount),
  { start, seed: Number(process.env.SEED ?? 1), prefix: `o${start}` },
);
try {
  await createOrderTopics(kafka, topics);
  await produceSample(kafka, topics, serdes, { customers, customersAt: start - 1, orders });
} finally {
  close();
}
console.log(
  `produced ${customers.length} customers to ${topics.customers} and ${orders.length} orders to ${topics.orders} (${serdes.format})`,
);
