// The @platformatic/kafka adapter's clients for broker tests, each closed after the test.
import { platformaticClientFactory } from '@eddy/streams/internals';
import { brokerList, uniqueName } from '../support/kafka.js';

export type Factory = ReturnType<typeof platformaticClientFactory>;

export class Clients {
  readonly factory: Factory = platformaticClientFactory({
    clientId: uniqueName('platformatic'),
    brokers: brokerList(),
    connectionTimeoutMs: 3_000,
    requestTimeoutMs: 30_000,
    retryBudgetMs: 10_000,
  });
  private readonly closers: (() => Promise<void>)[] = [];

  /** Registers `client` to be closed by `closeAll`, and returns it. */
  track<T extends { close(): Promise<void> }>(client: T): T {
    this.closers.push(() => client.close());
    return client;
  }

  async closeAll(): Promise<void> {
    for (const close of this.closers.splice(0).reverse()) await close().catch(() => undefined);
  }
}
