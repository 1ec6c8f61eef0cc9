// What the Avro serdes rely on in the registry's Confluent-compatible API, checked on the real registry (the
// differences from Confluent's are in docs/schema-registry.md), and concurrent registration of one schema.
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../support/kafka.js';
import { registryClient, registryUrl } from './support.js';

const schema = (fields: object[]) => JSON.stringify({ type: 'record', name: 'R', fields });
const v1 = schema([{ name: 'a', type: 'int' }]);
const v2 = schema([
  { name: 'a', type: 'int' },
  { name: 'b', type: 'string', default: '' },
]);
const incompatible = schema([{ name: 'c', type: 'int' }]);

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${registryUrl()}${path}`, {
    method,
    headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('the schema registry', () => {
  it('answers 404 with error code 40401 for an unknown subject, and for its config', async () => {
    const subject = uniqueName('unknown');
    expect(await call('GET', `/subjects/${subject}/versions`)).toMatchObject({
      status: 404,
      body: { error_code: 40401 },
    });
    expect(await call('GET', `/config/${subject}`)).toMatchObject({
      status: 404,
      body: { error_code: 40401 },
    });
    const registry = registryClient();
    expect(await registry.versions(subject)).toEqual([]);
    expect(await registry.compatibility(subject)).toBeUndefined();
    expect(await registry.lookup(subject, v1)).toBeUndefined();
    registry.close();
  });

  it('keeps a compatibility level per subject, and refuses an incompatible schema with 409', async () => {
    const subject = uniqueName('levels');
    const registry = registryClient();
    const id1 = await registry.register(subject, v1, 'FULL');
    expect(await registry.compatibility(subject)).toBe('FULL');
    const id2 = await registry.register(subject, v2, 'FULL');
    expect(id2).not.toBe(id1);
    expect(await registry.versions(subject)).toEqual([1, 2]);
    expect(await registry.lookup(subject, v1)).toMatchObject({ id: id1, version: 1 });
    const refused = await call('POST', `/subjects/${subject}/versions`, { schema: incompatible });
    expect(refused.status).toBe(409);
    await expect(registry.register(subject, incompatible, 'FULL')).rejects.toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      message: expect.stringContaining('409'),
    });
    // A subject without a level of its own reports the registry's global one.
    const plain = uniqueName('plain');
    await call('POST', `/subjects/${plain}/versions`, { schema: v1 });
    expect((await call('GET', `/config/${plain}`)).body).toEqual({ compatibilityLevel: 'NONE' });
    registry.close();
  });

  it('gives two clients registering one schema at once the same id', async () => {
    const subject = uniqueName('race');
    const clients = Array.from({ length: 4 }, () => registryClient());
    const ids = await Promise.all(clients.map((c) => c.register(subject, v1, 'FULL')));
    expect(new Set(ids).size).toBe(1);
    expect(await clients[0]!.versions(subject)).toEqual([1]);
    for (const c of clients) c.close();
  });
});
