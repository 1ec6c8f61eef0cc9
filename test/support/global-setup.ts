// Vitest global setup for the integration suite: makes sure a real Kafka broker and a schema registry answer, and
// stops each afterwards only if this run started it. KAFKA_BROKERS points the suite at another cluster instead,
// SCHEMA_REGISTRY_URL at another registry.
import { startBroker, stopBroker } from '../kafka/broker.mjs';
import { startRegistry, stopRegistry } from '../registry/registry.mjs';

export default async function setup(): Promise<() => Promise<void>> {
  const [{ brokers, started }, registry] = await Promise.all([startBroker(), startRegistry()]);
  process.env.KAFKA_BROKERS = brokers;
  process.env.SCHEMA_REGISTRY_URL = registry.url;
  return async () => {
    if (started && !process.env.EDDY_KEEP_BROKER) await stopBroker();
    if (registry.started && !process.env.EDDY_KEEP_BROKER) await stopRegistry();
  };
}
