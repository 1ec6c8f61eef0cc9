// The connect/close lifecycle every in-memory client shares: calls need a connected client; close is idempotent.

export type ClientKind =
  | 'admin'
  | 'producer'
  | 'transactional-producer'
  | 'consumer'
  | 'changelog-reader'
  | 'partition-follower';

export class ClientLifecycle {
  private state: 'created' | 'connected' | 'closed' = 'created';

  constructor(
    readonly kind: ClientKind,
    /** The group id, transactional id or kind, for fault targets and for listing open clients. */
    readonly name: string,
  ) {}

  get connected(): boolean {
    return this.state === 'connected';
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  connect(): void {
    if (this.state === 'closed') throw new Error(`the ${this.kind} ${this.name} is closed`);
    this.state = 'connected';
  }

  /** Returns false if the client was already closed. */
  close(): boolean {
    if (this.state === 'closed') return false;
    this.state = 'closed';
    return true;
  }

  assertConnected(): void {
    if (this.state !== 'connected') {
      throw new Error(
        `the ${this.kind} ${this.name} is ${this.state === 'closed' ? 'closed' : 'not connected'}`,
      );
    }
  }
}
