// Helpers for integration tests against the real broker: unique names, admin access, condition waits.
import { randomBytes } from 'node:crypto';
import { type Admin, type ITopicConfig, Kafka, logLevel, type Producer, type ProducerConfig } from 'kafkajs';

export function brokerList(): string[] {
  const brokers = process.env.KAFKA_BROKERS;
  if (!brokers) throw new Error('KAFKA_BROKERS is not set: the integration global setup did not run');
  return brokers.split(',');
}

/** A name no other test uses: `<prefix>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export function testKafka(clientId = uniqueName('test')): Kafka {
  return new Kafka({ clientId, brokers: brokerList(), logLevel: logLevel.NOTHING });
}

/**
 * A producer for test input. Idempotent, so that a retried send (a request that timed out on a loaded machine but was
 * written) cannot write a record twice and make the input differ from what the test counted as sent.
 */
export function testProducer(config: ProducerConfig = {}): Producer {
  return testKafka().producer({ idempotent: true, maxInFlightRequests: 1, ...config });
}

/** Runs `fn` with a connected admin client and disconnects it afterwards. */
export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = testKafka().admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

export async function createTopics(topics: ITopicConfig[]): Promise<void> {
  await withAdmin((admin) => admin.createTopics({ topics, waitForLeaders: true }));
}

/**
 * Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. An error thrown by
 * `check` is retried, unless `failFast` is set: then it ends the wait at once.
 */
export async function waitFor<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 60_000, intervalMs = 100, what = 'condition', failFast = false } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      if (failFast) throw err;
      last = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
