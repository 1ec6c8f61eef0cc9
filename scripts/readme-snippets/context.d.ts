// The names README.md's TypeScript blocks take from the text around them, declared for scripts/readme-snippets.
import type * as avro from '@eddy/avro';
import type * as state from '@eddy/state';
import type * as streams from '@eddy/streams';
import type * as testUtils from '@eddy/test-utils';

declare global {
  const Serdes: typeof streams.Serdes;
  const StreamsApp: typeof streams.StreamsApp;
  const StreamsBuilder: typeof streams.StreamsBuilder;
  const Topology: typeof streams.Topology;
  const TimeWindows: typeof streams.TimeWindows;
  const JoinWindows: typeof streams.JoinWindows;
  const TopologyTestDriver: typeof testUtils.TopologyTestDriver;
  const AvroSerdes: typeof avro.AvroSerdes;
  const keyValueStore: typeof state.keyValueStore;
  type KeyValueStore<K, V> = state.KeyValueStore<K, V>;
  const readFileSync: typeof import('node:fs').readFileSync;

  // The joins and Avro examples' records and schemas.
  interface Order {
    customerId: string;
    customer: string;
    amount: number;
  }
  interface Customer {
    name: string;
  }
  interface Total {
    total: number;
  }
  const orderSchema: avro.AvroSerdeOptions<Order>['schema'];
  const totalSchema: avro.AvroSerdeOptions<Total>['schema'];

  // A program under construction, and a topology built elsewhere.
  const builder: streams.StreamsBuilder;
  const topology: streams.Topology;
  const rekeyByCustomer: streams.ProcessorSupplier<string, string, string, string>;
  const countPerCustomer: streams.ProcessorSupplier<string, string, string, number>;
  const payments: streams.KStream<string | null, { amount: number } | null>;
  const addresses: streams.KTable<string, { line: string }>;
  function fetchToken(): Promise<string>;
}
