// Loads @platformatic/kafka on first use, so an app on kafkajs never loads it, and wraps its callback-style calls.

import type * as Platformatic from '@platformatic/kafka';

export type Library = typeof Platformatic;
export type { Platformatic };

let loading: Promise<Library> | undefined;

/** The library module, imported once. */
export function loadLibrary(): Promise<Library> {
  loading ??= import('@platformatic/kafka');
  return loading;
}

/** A client with the library's (exported) internal hooks for protocol calls. */
type Client = Platformatic.Base;

/**
 * Sends one request of the protocol API `name` (the newest version both sides support) to `nodeId`, or to a
 * bootstrap broker when `nodeId` is undefined, through `client`'s connection pool.
 */
export async function request<T>(
  lib: Library,
  client: Client,
  name: string,
  nodeId: number | undefined,
  args: unknown[],
): Promise<T> {
  const connection = await new Promise<unknown>((resolve, reject) => {
    const done = (error: Error | null, conn?: unknown) => (error ? reject(error) : resolve(conn));
    if (nodeId === undefined) {
      client[lib.kGetBootstrapConnection](done as never);
      return;
    }
    client.metadata({ topics: [] }).then((metadata) => {
      const broker = metadata.brokers.get(nodeId);
      if (broker === undefined) {
        reject(new lib.NetworkError(`broker ${nodeId} is not in the cluster metadata`));
        return;
      }
      client[lib.kGetConnection](broker, done as never);
    }, reject);
  });
  const api = await new Promise<(...a: unknown[]) => void>((resolve, reject) =>
    client[lib.kGetApi](
      name as never,
      ((error: Error | null, found?: unknown) =>
        error ? reject(error) : resolve(found as (...a: unknown[]) => void)) as never,
    ),
  );
  return new Promise<T>((resolve, reject) =>
    api(connection, ...args, (error: Error | null, response?: T) =>
      error ? reject(error) : resolve(response as T),
    ),
  );
}

/** The node id of the coordinator of `key`: a group (`keyType` 0) or a transactional id (1). */
export async function findCoordinator(
  lib: Library,
  client: Client,
  keyType: 0 | 1,
  key: string,
): Promise<number> {
  const response = await request<{ coordinators: { key: string; nodeId: number; errorCode: number }[] }>(
    lib,
    client,
    'FindCoordinator',
    undefined,
    [keyType, [key]],
  );
  const found = response.coordinators.find((c) => c.key === key);
  if (found === undefined) throw new lib.NetworkError(`no coordinator found for ${key}`);
  return found.nodeId;
}
