// Helpers of the avro unit tests: fixtures, and a registry client whose schemas are known without a registry.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { SerdeDecision, SerdeUse } from '@eddy/streams';
import { RegistryClient } from '../src/registry.js';

export function fixture(name: string): { schemaId: number; bytes: Buffer } {
  const f = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', `${name}.json`), 'utf8'));
  return { schemaId: f.schemaId, bytes: Buffer.from(f.hex, 'hex') };
}

/** A loopback port that was free a moment ago and that nothing listens on: connections to it are refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const CLOSED_PORT = await closedPort();

/** A client of a registry that refuses connections, knowing `schemas` by id. */
export function offlineRegistry(schemas: Record<number, unknown> = {}): RegistryClient {
  const registry = new RegistryClient({
    url: `http://127.0.0.1:${CLOSED_PORT}/apis/ccompat/v7`,
    timeoutMs: 500,
  });
  for (const [id, schema] of Object.entries(schemas)) registry.remember(Number(id), JSON.stringify(schema));
  return registry;
}

export function use(over: Partial<SerdeUse> = {}): SerdeUse & { decisions: SerdeDecision[] } {
  const decisions: SerdeDecision[] = [];
  return {
    applicationId: 'app',
    kind: 'output',
    topic: 'orders',
    part: 'value',
    writes: true,
    dryRun: false,
    report: (d) => decisions.push(d),
    decisions,
    ...over,
  };
}
