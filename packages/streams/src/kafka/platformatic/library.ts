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

/**
 * Makes `client` ask for AddPartitionsToTxn v3 whatever the broker supports. Versions 4 and later are the brokers'
 * own (KIP-890): Kafka refuses them from a principal without the ClusterAction right (CLUSTER_AUTHORIZATION_FAILED),
 * and the library would pick the newest. v3 takes the same arguments (it sends the first transaction).
 */
export function useClientApiVersions(lib: Library, client: Platformatic.Base): void {
  const getApi = client[lib.kGetApi].bind(client);
  const pinned = lib.addPartitionsToTxnV3.api;
  (client as unknown as Record<symbol, unknown>)[lib.kGetApi] = (
    name: string,
    callback: (error: Error | null, api?: unknown) => void,
  ) => (name === 'AddPartitionsToTxn' ? callback(null, pinned) : getApi(name as never, callback as never));
}
