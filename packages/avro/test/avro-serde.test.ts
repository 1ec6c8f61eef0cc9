import { Worker } from 'node:worker_threads';
import type avro from 'avsc';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AvroSerdes } from '../src/avro-serde.js';
import { RegistryClient } from '../src/registry.js';
import { frame } from '../src/wire-format.js';
import { order, orderSchema, userSchema } from './fixtures/schemas.js';
import { fixture, offlineRegistry } from './support.js';

const userV2 = {
  ...(userSchema as object),
  fields: [...(userSchema as { fields: object[] }).fields, { name: 'email', type: 'string', default: '' }],
} as avro.Schema;

describe('Avro serdes', () => {
  it('deserialize golden records whose schema id is cached', () => {
    const registry = offlineRegistry({ 7: userSchema, 4242: orderSchema });
    const serde = AvroSerdes.specific<typeof order>({ registry, schema: orderSchema });
    expect(serde.deserialize(fixture('order-4242').bytes)).toEqual(order);
    expect(
      AvroSerdes.specific({ registry, schema: userSchema }).deserialize(fixture('user-7').bytes),
    ).toEqual({
      id: 1,
      name: 'a',
    });
    registry.close();
  });

  it('resolve records of another version to the reader schema, both ways', () => {
    const registry = offlineRegistry({ 7: userSchema, 8: userV2 });
    // A v2 reader reads v1 records: the new field takes its default.
    const v2 = AvroSerdes.specific({ registry, schema: userV2 });
    expect(v2.deserialize(fixture('user-7').bytes)).toEqual({ id: 1, name: 'a', email: '' });
    // A v1 reader reads v2 records: the field it does not know is dropped.
    const written = frame(8, Buffer.from([0x04, 0x02, 0x62, 0x06, 0x61, 0x40, 0x62]));
    const v1 = AvroSerdes.specific({ registry, schema: userSchema });
    expect(v1.deserialize(written)).toEqual({ id: 2, name: 'b' });
    // The generic serde gives the record as written.
    expect(AvroSerdes.generic({ registry, schema: userSchema }).deserialize(written)).toEqual({
      id: 2,
      name: 'b',
      email: 'a@b',
    });
    registry.close();
  });

  it('keep null as a tombstone and refuse to write before they are prepared', () => {
    const registry = offlineRegistry();
    const serde = AvroSerdes.specific({ registry, schema: userSchema });
    expect(serde.serialize(null)).toBeNull();
    expect(serde.deserialize(null)).toBeNull();
    expect(() => serde.serialize({ id: 1, name: 'a' })).toThrow(
      expect.objectContaining({ code: 'NOT_PREPARED' }),
    );
    registry.close();
  });

  it('refuse a wrong magic byte, a cut body and bytes after the body', () => {
    const registry = offlineRegistry({ 4242: orderSchema });
    const serde = AvroSerdes.specific({ registry, schema: orderSchema });
    const bytes = fixture('order-4242').bytes;
    expect(() => serde.deserialize(Buffer.from(JSON.stringify(order)))).toThrow(
      expect.objectContaining({ code: 'WRONG_MAGIC_BYTE' }),
    );
    expect(() => serde.deserialize(bytes.subarray(0, bytes.length - 3))).toThrow(
      expect.objectContaining({ code: 'TRUNCATED' }),
    );
    expect(() => serde.deserialize(bytes.subarray(0, 3))).toThrow(
      expect.objectContaining({ code: 'TRUNCATED' }),
    );
    expect(() => serde.deserialize(Buffer.concat([bytes, Buffer.from([1, 2])]))).toThrow(
      expect.objectContaining({ code: 'TRUNCATED', message: expect.stringContaining('2 bytes follow') }),
    );
    registry.close();
  });

  it('fail clearly on a new schema id while the registry is down, and keep reading cached ids', () => {
    const registry = offlineRegistry({ 7: userSchema });
    const serde = AvroSerdes.specific({ registry, schema: userSchema });
    expect(() => serde.deserialize(frame(99, Buffer.from([0x02, 0x00])))).toThrow(
      expect.objectContaining({
        code: 'REGISTRY_UNAVAILABLE',
        message: expect.stringContaining('schema id 99'),
      }),
    );
    expect(serde.deserialize(fixture('user-7').bytes)).toEqual({ id: 1, name: 'a' });
    registry.close();
  });
});

describe('a schema id missing from the cache', () => {
  // The registry runs in a thread of its own: the deserializer blocks this one while it asks.
  let worker: Worker;
  let url: string;
  beforeAll(async () => {
    worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
      const requests = [];
      const server = require('node:http').createServer((req, res) => {
        requests.push(req.url);
        const found = req.url === '/schemas/ids/8';
        res.writeHead(found ? 200 : 404, { 'Content-Type': 'application/json' });
        res.end(found ? JSON.stringify({ schema: workerData }) : '{"error_code":40403,"message":"Schema not found"}');
      });
      server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
      parentPort.on('message', () => parentPort.postMessage(requests));`,
      { eval: true, workerData: JSON.stringify(userV2) },
    );
    const port = await new Promise<number>((r) => worker.once('message', r));
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(() => worker.terminate());
  const requests = () =>
    new Promise<string[]>((r) => {
      worker.once('message', r);
      worker.postMessage('requests');
    });

  it('is fetched once, synchronously; an id the registry does not know fails with UNKNOWN_SCHEMA_ID', async () => {
    const registry = new RegistryClient({ url });
    const serde = AvroSerdes.specific({ registry, schema: userSchema });
    const written = frame(8, Buffer.from([0x04, 0x02, 0x62, 0x00]));
    expect(serde.deserialize(written)).toEqual({ id: 2, name: 'b' });
    expect(serde.deserialize(written)).toEqual({ id: 2, name: 'b' });
    expect((await requests()).filter((r) => r === '/schemas/ids/8')).toHaveLength(1);
    expect(() => serde.deserialize(frame(12345, Buffer.from([0x02, 0x00])))).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_SCHEMA_ID' }),
    );
    registry.close();
    registry.close();
  });
});

describe('a registry that accepts connections and never answers', () => {
  // The server runs in a thread of its own, so that it can answer while a blocking lookup holds this one.
  let worker: Worker;
  let url: string;
  beforeAll(async () => {
    worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
      let answering = false;
      let requests = 0;
      const server = require('node:http').createServer((req, res) => {
        requests++;
        if (!answering) return;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ schema: workerData }));
      });
      server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
      parentPort.on('message', (m) => {
        if (m === 'answer') answering = true;
        parentPort.postMessage(requests);
      });`,
      { eval: true, workerData: JSON.stringify(userV2) },
    );
    const port = await new Promise<number>((r) => worker.once('message', r));
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(() => worker.terminate());
  const tell = (m: 'requests' | 'answer') =>
    new Promise<number>((r) => {
      worker.once('message', r);
      worker.postMessage(m);
    });

  it('holds up one lookup; other uncached ids fail at once until the pause ends, then it is asked again', async () => {
    const registry = new RegistryClient({ url, timeoutMs: 200, unreachableBackoff: { initialMs: 300 } });
    const serde = AvroSerdes.specific({ registry, schema: userSchema });
    const record = (id: number) => frame(id, Buffer.from([0x04, 0x02, 0x62, 0x00]));
    expect(() => serde.deserialize(record(21))).toThrow(
      expect.objectContaining({
        code: 'REGISTRY_UNAVAILABLE',
        message: expect.stringContaining('did not answer'),
      }),
    );
    for (let id = 22; id < 72; id++) {
      expect(() => serde.deserialize(record(id))).toThrow(
        expect.objectContaining({
          code: 'REGISTRY_UNAVAILABLE',
          message: expect.stringContaining('not asked again meanwhile'),
        }),
      );
    }
    // The held-up lookup may have been given up before its request arrived; none of the others was sent.
    const held = await tell('requests');
    expect(held).toBeLessThanOrEqual(1);
    await tell('answer');
    // Once the pause is over, the next uncached id asks again, and the answer ends the pause.
    await vi.waitFor(() => expect(serde.deserialize(record(21))).toEqual({ id: 2, name: 'b' }), {
      timeout: 10_000,
      interval: 50,
    });
    expect(serde.deserialize(record(22))).toEqual({ id: 2, name: 'b' });
    expect(await tell('requests')).toBe(held + 2);
    registry.close();
  });

  it('refuses a backoff that cannot work', () => {
    expect(() => new RegistryClient({ url, unreachableBackoff: { initialMs: 0 } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe('a registry whose answer stops half-way', () => {
  it('fails with a transient REGISTRY_UNAVAILABLE once the timeout passes, as a registry that did not answer', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('[1,'); // and nothing more
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    const registry = new RegistryClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 300 });
    try {
      const failure = await registry.versions('orders-value').catch((err: unknown) => err);
      expect(failure).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', transient: true });
    } finally {
      registry.close();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
