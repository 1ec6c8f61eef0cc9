// The topology a StreamsBuilder is building and the naming of its nodes, shared by every stream and table it makes.
import type { StoreBuilder } from '@eddy/state';
import type { ProcessorSupplier } from '../processor.js';
import { Topology } from '../topology.js';
import { type Named, NameGenerator } from './naming.js';

/** @internal */
export class DslGraph {
  readonly topology = new Topology();
  readonly names = new NameGenerator();

  /** Adds the processor of `operation` under `parents` and returns its node name. */
  processor<KIn, VIn, KOut, VOut>(
    operation: string,
    parents: readonly string[],
    named: Named | undefined,
    supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>,
  ): string {
    const name = this.names.name(operation, parents, named);
    this.topology.addProcessor(name, supplier, ...parents);
    return name;
  }

  /** The store of a stateful operation: `name` when given, else `<node>-store`. */
  storeName(node: string, name: string | undefined): string {
    return this.names.claim(name ?? `${node}-store`);
  }

  addStore(builder: StoreBuilder<unknown>, ...processors: string[]): void {
    this.topology.addStateStore(builder, ...processors);
  }
}
