// The orders topology: orders are rekeyed by customer, summed per customer (`customer-totals`), enriched from the
// customers table (a stream–table left join), and counted per region and minute (`orders-per-minute`, a tumbling
// window). The window count is not suppressed: each change of a window's count is written out (folded per commit by
// the store's cache), so the output shows counts as they grow; the last value of a window key is its final count.
import { type KTable, StreamsBuilder, TimeWindows, type Topology } from '@eddy/streams';
import type { CustomerTotal, EnrichedOrder } from './model.js';
import type { OrderSerdes } from './serdes.js';
import type { OrderTopics } from './topics.js';

/** The stores, queryable over HTTP at /stores/<name>/keys/<key>. */
export const ORDER_STORES = {
  customers: 'customers',
  totals: 'customer-totals',
  perMinute: 'orders-per-minute',
} as const;

export const WINDOW_SIZE_MS = 60_000;
/**
 * How late (in stream time) an order may come and still count in its minute. Orders reach the window count through
 * two repartition topics, from several tasks that may be minutes apart when a backlog is processed, so it is wide.
 */
export const WINDOW_GRACE_MS = 10 * 60_000;

/** The key of a region's minute in the orders-per-minute topic. */
export const regionMinuteKey = (region: string, windowStart: number): string =>
  `${region}@${new Date(windowStart).toISOString()}`;

/** The topology over `topics`, with `serdes` (Avro or JSON, see serdes.ts) for every topic and store. */
export function ordersTopology(topics: OrderTopics, serdes: OrderSerdes): Topology {
  const builder = new StreamsBuilder();
  const customers = builder.table(
    topics.customers,
    { keySerde: serdes.key, valueSerde: serdes.customer() },
    { name: ORDER_STORES.customers },
  );
  const byCustomer = builder
    .stream(topics.orders, { keySerde: serdes.key, valueSerde: serdes.order() })
    .selectKey((_orderId, order) => order?.customerId ?? null, { name: 'by-customer' });

  const totals: KTable<string, CustomerTotal> = byCustomer
    .groupByKey({ name: 'orders-by-customer', keySerde: serdes.key, valueSerde: serdes.order() })
    .aggregate<CustomerTotal>(
      () => ({ orders: 0, totalCents: 0 }),
      (_customerId, order, total) => ({
        orders: total.orders + 1,
        totalCents: total.totalCents + order.amountCents,
      }),
      { name: ORDER_STORES.totals, valueSerde: serdes.customerTotal() },
    );
  totals.toStream().to(topics.totals, { keySerde: serdes.key, valueSerde: serdes.customerTotal() });

  const enriched = byCustomer.leftJoin(
    customers,
    (order, customer): EnrichedOrder => ({
      ...order,
      customerName: customer?.name ?? null,
      region: customer?.region ?? 'unknown',
    }),
  );
  enriched.to(topics.enriched, { keySerde: serdes.key, valueSerde: serdes.enrichedOrder() });

  enriched
    .groupBy((_customerId, order) => order.region, {
      name: 'orders-by-region',
      keySerde: serdes.key,
      valueSerde: serdes.enrichedOrder(),
    })
    .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW_SIZE_MS, WINDOW_GRACE_MS))
    .count({ name: ORDER_STORES.perMinute })
    .toStream()
    .filter((_window, orders) => orders !== null)
    .map((window, orders) => [
      regionMinuteKey(window.key, window.window.start),
      { region: window.key, windowStart: window.window.start, orders: orders ?? 0 },
    ])
    .to(topics.perMinute, { keySerde: serdes.key, valueSerde: serdes.regionMinute() });
  return builder.build();
}
