// Runs the orders example as a service: `tsx examples/orders/app.ts [topic-prefix]` (topics in topics.ts; the
// environment in ../service/env.ts; APPLICATION_ID defaults to `orders`). With HTTP_PORT it serves metrics, probes
// and queries: /stores/customer-totals/keys/<customer>, /stores/orders-per-minute/keys/<region>,
// /stores/customers/keys/<customer>.
import { runService } from '../service/run-service.js';
import { orderTopics } from './topics.js';
import { ordersTopology } from './topology.js';

const [prefix = ''] = process.argv.slice(2);
await runService('orders', ordersTopology(orderTopics(prefix)), process.env);
