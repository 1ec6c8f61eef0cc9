// Sample data for the orders example, the same for the same seed: customers, orders with their timestamps, and what
// the app must compute from them (a plain fold, independent of the topology) to check its results.
import type { Customer, CustomerTotal, Order } from './model.js';

const REGIONS = ['eu-west', 'us-east', 'ap-south'];
const NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Radia', 'Ken'];

export interface TimedOrder {
  order: Order;
  timestamp: number;
}

/** A small deterministic pseudo-random sequence (mulberry32), so that sample runs can be compared. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` customers `c-001`, `c-002`, … spread over three regions. */
export function sampleCustomers(count: number): Customer[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `c-${String(i + 1).padStart(3, '0')}`,
    name: `${NAMES[i % NAMES.length]} ${Math.floor(i / NAMES.length) + 1}`,
    region: REGIONS[i % REGIONS.length] as string,
  }));
}

/**
 * `count` orders `<prefix>-0001`, … of random customers among `customerIds`, with amounts from 1.00 to 200.00 and
 * timestamps from `start`, one every `spacingMs`.
 */
export function sampleOrders(
  customerIds: string[],
  count: number,
  {
    start,
    spacingMs = 1000,
    seed = 1,
    prefix = 'o',
  }: { start: number; spacingMs?: number; seed?: number; prefix?: string },
): TimedOrder[] {
  const next = random(seed);
  return Array.from({ length: count }, (_, i) => ({
    order: {
      id: `${prefix}-${String(i + 1).padStart(4, '0')}`,
      customerId: customerIds[Math.floor(next() * customerIds.length)] as string,
      amountCents: 100 + Math.floor(next() * 19_901),
    },
    timestamp: start + i * spacingMs,
  }));
}

/** Each customer's expected total after `orders`. */
export function expectedTotals(orders: TimedOrder[]): Map<string, CustomerTotal> {
  const totals = new Map<string, CustomerTotal>();
  for (const { order } of orders) {
    const t = totals.get(order.customerId) ?? { orders: 0, totalCents: 0 };
    totals.set(order.customerId, { orders: t.orders + 1, totalCents: t.totalCents + order.amountCents });
  }
  return totals;
}

/** The expected order count per region and minute, keyed by `keyOf(region, windowStart)`. */
export function expectedPerMinute(
  customers: Customer[],
  orders: TimedOrder[],
  keyOf: (region: string, windowStart: number) => string,
  windowMs = 60_000,
): Map<string, number> {
  const region = new Map(customers.map((c) => [c.id, c.region]));
  const counts = new Map<string, number>();
  for (const { order, timestamp } of orders) {
    const key = keyOf(region.get(order.customerId) ?? 'unknown', timestamp - (timestamp % windowMs));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
