// Runs the orders example as a service: `tsx examples/orders/app.ts [topic-prefix]` (topics in topics.ts; the
// environment in ../service/env.ts; APPLICATION_ID defaults to `orders`). Values are Avro through the schema registry
// at SCHEMA_REGISTRY_URL, or JSON with ORDERS_FORMAT=json (serdes.ts). With HTTP_PORT it serves metrics, probes and
// queries (values as JSON in either format): /stores/customer-totals/keys/<customer>,
// /stores/orders-per-minute/keys/<region>, /stores/customers/keys/<customer>.
import { runService } from '../service/run-service.js';
import { orderSerdesFromEnv } from './serdes.js';
import { orderTopics } from './topics.js';
import { ordersTopology } from './topology.js';

const [prefix = ''] = process.argv.slice(2);
const { serdes, close } = orderSerdesFromEnv(process.env);
const app = await runService('orders', ordersTopology(orderTopics(prefix), serdes), process.env);
app.onStateChange((state) => {
  if (state === 'NOT_RUNNING' || state === 'ERROR') close();
});
