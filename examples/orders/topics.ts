// The topics of the orders example, named from a prefix so that several runs can share a broker, and their creation.
import type { Kafka } from 'kafkajs';

export interface OrderTopics {
  /** Input: customers keyed by id (a table; compacted). */
  customers: string;
  /** Input: orders keyed by order id. */
  orders: string;
  /** Output: each customer's running total after each change. */
  totals: string;
  /** Output: each region's order count per minute after each change. */
  perMinute: string;
  /** Output: each order with its customer's name and region, keyed by customer id. */
  enriched: string;
}

export function orderTopics(prefix = ''): OrderTopics {
  return {
    customers: `${prefix}customers`,
    orders: `${prefix}orders`,
    totals: `${prefix}customer-totals`,
    perMinute: `${prefix}orders-per-minute`,
    enriched: `${prefix}orders-enriched`,
  };
}

/**
 * Creates the topics that do not exist yet. Customers and orders need the same partition count: the orders are
 * rekeyed by customer and joined with the customers table partition by partition.
 */
export async function createOrderTopics(kafka: Kafka, topics: OrderTopics, partitions = 3): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = Object.entries(topics)
      .filter(([, topic]) => !existing.has(topic))
      .map(([role, topic]) => ({
        topic,
        numPartitions: partitions,
        ...(role === 'customers' ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
      }));
    if (missing.length > 0) await admin.createTopics({ topics: missing, waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
