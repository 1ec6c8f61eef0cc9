// BranchedKStream: the fluent form of `KStream.split()`, collecting branches until a default (or none) is chosen.
import { StreamsError } from '../../errors.js';
import type { KStream } from './kstream.js';
import type { Named } from './naming.js';

/** A branch whose name has been claimed in the topology. */
export interface NamedBranch<K, V> {
  name: string;
  // Method syntax keeps the branch (and so `KStream`) assignable to a stream of a wider value type.
  predicate(key: K, value: V): boolean;
}

/**
 * Built by `stream.split({ name? })`: each `branch(predicate, { name? })` adds a branch after the earlier ones, and
 * `defaultBranch({ name? })` or `noDefaultBranch()` ends the split and returns its branch streams by name, named
 * as in the array form of `split()`.
 */
export class BranchedKStream<K, V> {
  private readonly branches: NamedBranch<K, V>[] = [];
  private ended = false;

  /** @internal */
  constructor(
    private readonly source: KStream<K, V>,
    private readonly splitNode: string,
    private readonly prefix: string,
  ) {}

  /** Adds a branch taking the records `predicate` accepts and no earlier branch took. */
  branch(predicate: (key: K, value: V) => boolean, named: Named = {}): this {
    this.requireOpen('branch');
    const name = this.source.graph.names.claim(
      `${this.prefix}${named.name ?? String(this.branches.length + 1)}`,
    );
    this.branches.push({ name, predicate });
    return this;
  }

  /** Ends the split with a branch taking every record no other branch took (`<prefix>default` unless named). */
  defaultBranch(named: Named = {}): Record<string, KStream<K, V>> {
    this.requireOpen('defaultBranch');
    const defaultName = this.source.graph.names.claim(`${this.prefix}${named.name ?? 'default'}`);
    return this.end(defaultName);
  }

  /** Ends the split; records no branch accepts are dropped. */
  noDefaultBranch(): Record<string, KStream<K, V>> {
    this.requireOpen('noDefaultBranch');
    return this.end(undefined);
  }

  private end(defaultName: string | undefined): Record<string, KStream<K, V>> {
    this.ended = true;
    return this.source.addSplit(this.splitNode, this.branches, defaultName);
  }

  private requireOpen(operation: string): void {
    if (this.ended) {
      throw new StreamsError(
        'INVALID_TOPOLOGY',
        `split "${this.splitNode}" has already ended; ${operation}() must come before defaultBranch() or noDefaultBranch()`,
      );
    }
  }
}
