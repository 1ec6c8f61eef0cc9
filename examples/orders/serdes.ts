// The serdes of every topic and store of the orders example, in one place so that another format can replace JSON.
import { Serdes } from '@eddy/streams';
import type { Customer, CustomerTotal, EnrichedOrder, Order, RegionMinute } from './model.js';

export const orderSerdes = {
  key: Serdes.string(),
  customer: Serdes.json<Customer>(),
  order: Serdes.json<Order>(),
  enrichedOrder: Serdes.json<EnrichedOrder>(),
  customerTotal: Serdes.json<CustomerTotal>(),
  regionMinute: Serdes.json<RegionMinute>(),
};
