// The patched kafkajs metadata request (docs/kafkajs-patch.md): when every broker fails it, the call fails with the
// last broker's error (a connection error, which the app retries in-process), not with metadata that is null.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
type Metadata = { topicMetadata: unknown[] };
const Cluster = require('kafkajs/src/cluster/index.js') as {
  prototype: { metadata(this: object, options: { topics: string[] }): Promise<Metadata> };
};
const BrokerPool = require('kafkajs/src/cluster/brokerPool.js') as {
  prototype: { withBroker(this: object, callback: (b: { broker: unknown }) => unknown): Promise<unknown> };
};
const createRetry = require('kafkajs/src/retry/index.js') as (options: object) => unknown;
const { KafkaJSConnectionError } = require('kafkajs/src/errors.js') as {
  KafkaJSConnectionError: new (message: string, fields?: object) => Error;
};

/** Cluster.metadata over a pool of brokers that answer with `answers[nodeId]` (an error is thrown). */
function clusterOf(answers: Record<string, Metadata | Error>) {
  const asked: string[] = [];
  const brokers = Object.fromEntries(
    Object.entries(answers).map(([nodeId, answer]) => [
      nodeId,
      {
        metadata: async () => {
          asked.push(nodeId);
          if (answer instanceof Error) throw answer;
          return answer;
        },
      },
    ]),
  );
  const pool = { brokers, findBroker: async ({ nodeId }: { nodeId: string }) => brokers[nodeId] };
  const cluster = {
    retrier: createRetry({ retries: 0 }),
    brokerPool: {
      refreshMetadataIfNecessary: async () => {},
      withBroker: (callback: (b: { broker: unknown }) => unknown) =>
        BrokerPool.prototype.withBroker.call(pool, callback),
    },
  };
  return { metadata: () => Cluster.prototype.metadata.call(cluster, { topics: ['orders'] }), asked };
}

describe('kafkajs metadata when brokers fail', () => {
  it('fails with the connection error when every broker fails, after asking each', async () => {
    const refused = (n: number) =>
      new KafkaJSConnectionError(`Connection error: connect ECONNREFUSED 127.0.0.1:${n}`, {
        code: 'ECONNREFUSED',
      });
    const { metadata, asked } = clusterOf({ 1: refused(9092), 2: refused(9093) });
    const failure = await metadata().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(Error);
    // kafkajs's retrier wraps what it gave up on; the connection error is what it wraps.
    const cause = (failure as { originalError?: unknown }).originalError ?? failure;
    expect(cause).toBeInstanceOf(KafkaJSConnectionError);
    expect(cause).toMatchObject({ code: 'ECONNREFUSED' });
    expect(asked.sort()).toEqual(['1', '2']);
  });

  it('answers with the metadata of the first broker that answers', async () => {
    const answer = { topicMetadata: [{ topic: 'orders' }] };
    const { metadata } = clusterOf({ 1: new KafkaJSConnectionError('Connection error'), 2: answer });
    await expect(metadata()).resolves.toBe(answer);
  });
});
