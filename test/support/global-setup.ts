// Vitest global setup for the integration suite: makes sure a real Kafka broker answers, and stops it
// afterwards only if this run started it. KAFKA_BROKERS points the suite at another cluster instead.
import { startBroker, stopBroker } from '../kafka/broker.mjs';

export default async function setup(): Promise<() => Promise<void>> {
  const { brokers, started } = await startBroker();
  process.env.KAFKA_BROKERS = brokers;
  return async () => {
    if (started && !process.env.EDDY_KEEP_BROKER) await stopBroker();
  };
}
