// Vitest global setup for the integration suite: makes sure a real Kafka broker and a schema registry answer, and
// stops each afterwards only if this run started it. KAFKA_BROKERS points the suite at another cluster instead,
// SCHEMA_REGISTRY_URL at another registry. When one fails to start, the other is stopped again if this run started
// it, and the reason is appended to the file EDDY_SETUP_FAILURES names (CI prints it with its summary).
import { appendFileSync } from 'node:fs';
import { startBroker, stopBroker } from '../kafka/broker.mjs';
import { startRegistry, stopRegistry } from '../registry/registry.mjs';

export default async function setup(): Promise<() => Promise<void>> {
  const [broker, registry] = await Promise.allSettled([startBroker(), startRegistry()]);
  if (broker.status === 'rejected' || registry.status === 'rejected') {
    if (broker.status === 'fulfilled' && broker.value.started) await stopBroker();
    if (registry.status === 'fulfilled' && registry.value.started) await stopRegistry();
    const reasons = [broker, registry].flatMap((r) => (r.status === 'rejected' ? [describe(r.reason)] : []));
    const message = `the integration suite's servers did not start:\n${reasons.join('\n')}`;
    if (process.env.EDDY_SETUP_FAILURES) appendFileSync(process.env.EDDY_SETUP_FAILURES, `${message}\n`);
    throw new Error(message);
  }
  process.env.KAFKA_BROKERS = broker.value.brokers;
  process.env.SCHEMA_REGISTRY_URL = registry.value.url;
  return async () => {
    if (broker.value.started && !process.env.EDDY_KEEP_BROKER) await stopBroker();
    if (registry.value.started && !process.env.EDDY_KEEP_BROKER) await stopRegistry();
  };
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
