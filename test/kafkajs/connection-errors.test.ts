// How kafkajs fails, and how fast, when the broker address is wrong or the peer never answers.
import net from 'node:net';
import { Kafka, type KafkaConfig, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const fastFailure: Omit<KafkaConfig, 'brokers'> = {
  clientId: 'compat-errors',
  logLevel: logLevel.NOTHING,
  connectionTimeout: 500,
  requestTimeout: 500,
  enforceRequestTimeout: true,
  retry: { retries: 2, initialRetryTime: 50, maxRetryTime: 200 },
};

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; error: unknown; value?: T }> {
  const start = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - start, error: undefined, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

describe('kafkajs connection failures', () => {
  it.each(['admin', 'producer', 'consumer'] as const)(
    '%s.connect() to a closed port rejects with KafkaJSNumberOfRetriesExceeded wrapping ECONNREFUSED',
    async (kind) => {
      const kafka = new Kafka({ ...fastFailure, brokers: ['127.0.0.1:1'] });
      const client =
        kind === 'admin'
          ? kafka.admin()
          : kind === 'producer'
            ? kafka.producer()
            : kafka.consumer({ groupId: 'g' });
      try {
        const { ms, error } = await timed(() => client.connect());
        expect(error).toMatchObject({
          name: 'KafkaJSNumberOfRetriesExceeded',
          retriable: false,
          retryCount: 2,
          cause: { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED', retriable: true },
        });
        // Three attempts with 50..200 ms backoff: measured 120-190 ms.
        expect(ms).toBeLessThan(3_000);
      } finally {
        await client.disconnect();
      }
    },
  );

  describe('a peer that accepts TCP and never answers', () => {
    let server: net.Server;
    const sockets = new Set<net.Socket>();
    let port = 0;
    beforeAll(async () => {
      server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as net.AddressInfo).port;
    });
    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it('connect() resolves after the ApiVersions request times out; the first request then throws a plain Error', async () => {
      const admin = new Kafka({ ...fastFailure, brokers: [`127.0.0.1:${port}`] }).admin();
      try {
        // ApiVersions times out (retriable); the retry finds the socket connected and skips the handshake.
        const connect = await timed(() => admin.connect());
        expect(connect.error).toBeUndefined();
        expect(connect.ms).toBeGreaterThanOrEqual(450);
        expect(connect.ms).toBeLessThan(3_000);
        const list = await timed(() => admin.listTopics());
        expect(list.error).toBeInstanceOf(Error);
        expect(list.error).toMatchObject({ name: 'Error', message: 'Broker not connected' });
      } finally {
        await admin.disconnect();
      }
    });
  });
});
