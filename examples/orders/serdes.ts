// The serdes of every topic and store of the orders example, in one place: Avro values through a schema registry
// (the default; schemas in schemas/*.avsc) or JSON, keys as UTF-8 strings in both.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AvroSerdeOptions, AvroSerdes, RegistryClient } from '@eddy/avro';
import { type DslSerde, type Preparable, Serdes, StreamsError } from '@eddy/streams';
import type { Customer, CustomerTotal, EnrichedOrder, Order, RegionMinute } from './model.js';

export const ORDER_FORMATS = ['avro', 'json'] as const;
export type OrderFormat = (typeof ORDER_FORMATS)[number];

/**
 * The example's serdes. Each value serde call gives a fresh instance, for one topic or store: an Avro serde writes
 * one schema id, and the same schema registered under two subjects may have two.
 */
export interface OrderSerdes {
  readonly format: OrderFormat;
  readonly key: DslSerde<string>;
  customer(): DslSerde<Customer>;
  order(): DslSerde<Order>;
  enrichedOrder(): DslSerde<EnrichedOrder>;
  customerTotal(): DslSerde<CustomerTotal>;
  regionMinute(): DslSerde<RegionMinute>;
}

/** An Avro schema, as the Avro serdes take it. */
export type OrderSchema = AvroSerdeOptions['schema'];

/** The Avro schema of each record, read from schemas/<name>.avsc. */
export const ORDER_SCHEMAS: Record<
  'customer' | 'order' | 'enrichedOrder' | 'customerTotal' | 'regionMinute',
  OrderSchema
> = {
  customer: avsc('customer'),
  order: avsc('order'),
  enrichedOrder: avsc('enriched-order'),
  customerTotal: avsc('customer-total'),
  regionMinute: avsc('region-minute'),
};

function avsc(name: string): OrderSchema {
  return JSON.parse(readFileSync(join(import.meta.dirname, 'schemas', `${name}.avsc`), 'utf8'));
}

export function jsonOrderSerdes(): OrderSerdes {
  return {
    format: 'json',
    key: Serdes.string(),
    customer: () => Serdes.json<Customer>(),
    order: () => Serdes.json<Order>(),
    enrichedOrder: () => Serdes.json<EnrichedOrder>(),
    customerTotal: () => Serdes.json<CustomerTotal>(),
    regionMinute: () => Serdes.json<RegionMinute>(),
  };
}

/** Avro values in the Confluent wire format; schemas are checked and registered by the app when it starts. */
export function avroOrderSerdes(registry: RegistryClient): OrderSerdes {
  const specific =
    <T>(schema: OrderSchema) =>
    () =>
      AvroSerdes.specific<T>({ registry, schema });
  return {
    format: 'avro',
    key: Serdes.string(),
    customer: specific<Customer>(ORDER_SCHEMAS.customer),
    order: specific<Order>(ORDER_SCHEMAS.order),
    enrichedOrder: specific<EnrichedOrder>(ORDER_SCHEMAS.enrichedOrder),
    customerTotal: specific<CustomerTotal>(ORDER_SCHEMAS.customerTotal),
    regionMinute: specific<RegionMinute>(ORDER_SCHEMAS.regionMinute),
  };
}

/**
 * The serdes `env` asks for: ORDERS_FORMAT `avro` (the default; needs SCHEMA_REGISTRY_URL, the registry's
 * Confluent-compatible API, e.g. http://registry:8080/apis/ccompat/v7) or `json`. `close()` ends the registry
 * client once nothing uses the serdes any more. Throws StreamsError INVALID_CONFIG for an unknown format or a
 * missing registry URL.
 */
export function orderSerdesFromEnv(env: NodeJS.ProcessEnv): { serdes: OrderSerdes; close(): void } {
  const format = env.ORDERS_FORMAT === undefined || env.ORDERS_FORMAT === '' ? 'avro' : env.ORDERS_FORMAT;
  if (!ORDER_FORMATS.includes(format as OrderFormat)) {
    throw new StreamsError(
      'INVALID_CONFIG',
      `ORDERS_FORMAT=${format} is not a format of the orders example: use ${ORDER_FORMATS.join(' or ')}`,
    );
  }
  if (format === 'json') return { serdes: jsonOrderSerdes(), close: () => undefined };
  const url = env.SCHEMA_REGISTRY_URL;
  if (url === undefined || url === '') {
    throw new StreamsError(
      'INVALID_CONFIG',
      'the orders example writes Avro through a schema registry: set SCHEMA_REGISTRY_URL to its ' +
        'Confluent-compatible API (e.g. http://127.0.0.1:38081/apis/ccompat/v7), or ORDERS_FORMAT=json',
    );
  }
  const registry = new RegistryClient({ url });
  return { serdes: avroOrderSerdes(registry), close: () => registry.close() };
}

/**
 * Prepares `serde` for a client that is not a StreamsApp (the sample producer, the demo's reader), as an app's
 * start does: a writer checks its schema against the subject's versions and registers it, a reader learns the
 * registered versions. A no-op for JSON.
 */
export async function prepareForClient(
  serde: Preparable,
  { client, topic, writes }: { client: string; topic: string; writes: boolean },
): Promise<void> {
  await serde.prepare?.({
    applicationId: client,
    kind: writes ? 'output' : 'input',
    topic,
    part: 'value',
    writes,
    dryRun: false,
    report: () => undefined,
  });
}
