// Helpers of the Avro integration tests: the registry of the run, raw records (values as bytes), a TCP proxy that
// can take the registry away, and a producer of Avro records under a given subject.
import net from 'node:net';
import { frame, RegistryClient } from '@eddy/avro';
import avro from 'avsc';
import { testKafka, uniqueName } from '../support/kafka.js';
import { firstDeliveries } from '../support/redelivery.js';

export function registryUrl(): string {
  const url = process.env.SCHEMA_REGISTRY_URL;
  if (!url) throw new Error('SCHEMA_REGISTRY_URL is not set: the integration global setup did not run');
  return url;
}

export const registryClient = (url = registryUrl()) => new RegistryClient({ url });

/** Registers `schema` under `subject` and returns the framed bytes of `value` written with it. */
export async function avroBytes(subject: string, schema: avro.Schema, value: unknown): Promise<Buffer> {
  const registry = registryClient();
  try {
    const type = avro.Type.forSchema(schema);
    const id = await registry.register(subject, JSON.stringify(type.schema({ exportAttrs: true })), 'NONE');
    return frame(id, type.toBuffer(value));
  } finally {
    registry.close();
  }
}

export async function produce(
  topic: string,
  messages: { key: Buffer | string; value: Buffer | string }[],
): Promise<void> {
  const producer = testKafka().producer();
  await producer.connect();
  await producer.send({ topic, messages });
  await producer.disconnect();
}

export interface RawRecord {
  key: string | null;
  keyBytes: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** The first `count` records of `topic`, values as bytes. */
export async function readRaw(topic: string, count: number, timeoutMs = 60_000): Promise<RawRecord[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('raw') });
  const records: RawRecord[] = [];
  const isNew = firstDeliveries(topic);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${records.length} of ${count} of ${topic}`)),
        timeoutMs,
      );
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            if (!isNew(partition, message.offset)) return;
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {}))
              if (v !== undefined) headers[k] = String(v);
            records.push({
              key: message.key?.toString() ?? null,
              keyBytes: message.key,
              value: message.value,
              headers,
            });
            if (records.length === count) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/**
 * Every record `topic` holds now, values as bytes: read up to each partition's end, so it also works on a compacted
 * topic (a changelog), which holds fewer records than its offsets count.
 */
export async function readToEnd(topic: string, timeoutMs = 60_000): Promise<RawRecord[]> {
  const admin = testKafka().admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const left = new Map(
    ends.filter((e) => Number(e.high) > Number(e.low)).map((e) => [e.partition, Number(e.high) - 1]),
  );
  const consumer = testKafka().consumer({ groupId: uniqueName('raw') });
  const records: RawRecord[] = [];
  const isNew = firstDeliveries(topic);
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      if (left.size === 0) return resolve();
      const timer = setTimeout(
        () =>
          reject(
            new Error(`read ${records.length} records of ${topic}; partitions left: ${[...left.keys()]}`),
          ),
        timeoutMs,
      );
      consumer
        .run({
          // By batch: a batch's last offset may be a control record that no message stands for.
          eachBatch: async ({ batch }) => {
            const last = left.get(batch.partition);
            if (last === undefined) return;
            for (const message of batch.messages) {
              if (Number(message.offset) > last) break;
              if (!isNew(batch.partition, message.offset)) continue;
              records.push({
                key: message.key?.toString() ?? null,
                keyBytes: message.key,
                value: message.value,
                headers: {},
              });
            }
            if (Number(batch.lastOffset()) >= last) left.delete(batch.partition);
            if (left.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** A TCP proxy in front of the registry: `url` goes through it until `close()` takes the registry away. */
export async function registryProxy(): Promise<{ url: string; close(): Promise<void> }> {
  const target = new URL(registryUrl());
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
