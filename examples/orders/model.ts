// The orders example's records: what comes in (customers, orders) and what goes out (totals, counts, enriched orders).

/** A row of the customers topic, keyed by `id`. */
export interface Customer {
  id: string;
  name: string;
  region: string;
}

/** A record of the orders topic, keyed by `id`; its timestamp is when it was placed. */
export interface Order {
  id: string;
  customerId: string;
  /** Whole cents, so that totals are exact. */
  amountCents: number;
}

/** An order with its customer's name and region (`unknown` while the customer is not in the customers topic). */
export interface EnrichedOrder extends Order {
  customerName: string | null;
  region: string;
}

/** A customer's running total, keyed by customer id. */
export interface CustomerTotal {
  orders: number;
  totalCents: number;
}

/** The orders of one region within one minute (one tumbling window), keyed by `<region>@<windowStart ISO>`. */
export interface RegionMinute {
  region: string;
  windowStart: number;
  orders: number;
}
