// Fault injection for tests of the runtime: the next calls of an operation fail with a chosen error, or wait.

import { type KafkaErrorType, kafkaError } from './errors.js';

/**
 * Where a fault can be injected. `produce`: a producer's send, before anything is written. `commit`: a consumer's
 * offset commit. `transaction`: a transactional commit, after its records are written (the transaction is open)
 * and before its offsets and commit; a failure there aborts it. `join`: a consumer's join of its group.
 * `connect`: connecting any client. `read`: a changelog reader's read (restores and replicas), before it reads.
 * `close`: a consumer's close, after it stopped and before it counts as closed.
 */
export type FaultOperation = 'produce' | 'commit' | 'transaction' | 'join' | 'connect' | 'read' | 'close';

export interface FaultOptions {
  /** How many calls the fault applies to (default 1). */
  times?: number;
  /**
   * Only calls on this target: the topic of a produced record, the group of a commit or join, the transactional
   * id of a transaction, a changelog topic of a read, the group of a closing consumer; for connect, the group id,
   * transactional id, `admin` or `producer`.
   */
  target?: string;
}

interface Fault {
  operation: FaultOperation;
  target: string | undefined;
  remaining: number;
  error?: Error;
  delay?: Promise<unknown>;
}

export class FaultInjector {
  private readonly faults: Fault[] = [];

  /** The next matching calls fail with `error` (a Kafka error type, raised as a MemoryKafkaError, or any error). */
  failNext(operation: FaultOperation, error: KafkaErrorType | Error, options: FaultOptions = {}): void {
    this.faults.push({
      operation,
      target: options.target,
      remaining: options.times ?? 1,
      error: typeof error === 'string' ? kafkaError(error, `injected ${operation} failure`) : error,
    });
  }

  /** The next matching calls wait until `until` settles (a promise the test resolves), then go on. */
  delayNext(operation: FaultOperation, until: Promise<unknown>, options: FaultOptions = {}): void {
    this.faults.push({ operation, target: options.target, remaining: options.times ?? 1, delay: until });
  }

  /** Faults not yet used up. */
  get pending(): number {
    return this.faults.length;
  }

  clear(): void {
    this.faults.length = 0;
  }

  /** Called at the fault point of `operation` on `targets`: waits for a delay, then throws an injected error. */
  async apply(operation: FaultOperation, targets: readonly string[]): Promise<void> {
    const delay = this.take(operation, targets, 'delay');
    if (delay?.delay) await delay.delay.catch(() => undefined);
    const failure = this.take(operation, targets, 'error');
    if (failure?.error) throw failure.error;
  }

  private take(
    operation: FaultOperation,
    targets: readonly string[],
    kind: 'delay' | 'error',
  ): Fault | undefined {
    const i = this.faults.findIndex(
      (f) =>
        f.operation === operation &&
        f[kind] !== undefined &&
        (f.target === undefined || targets.includes(f.target)),
    );
    if (i < 0) return undefined;
    const fault = this.faults[i]!;
    if (--fault.remaining <= 0) this.faults.splice(i, 1);
    return fault;
  }
}
