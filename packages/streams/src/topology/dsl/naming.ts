// Names of DSL nodes, stores and internal topics: the user's, or derived from the operation's place in the graph.
import { StreamsError } from '../../errors.js';

/** An optional explicit name; without one the builder derives a stable name (see `NameGenerator`). */
export interface Named {
  name?: string;
}

/**
 * Derived names follow one rule: `<operation>-<8 hex digits>`, where the digits hash the names of the operation's
 * parent nodes, the operation, and its rank among the same operations already applied to the same parents. A name
 * therefore changes only when that operation, something upstream of it, or an earlier sibling of the same kind
 * changes; adding or removing operations elsewhere in the program leaves it alone. Stores and internal topics of a
 * stateful operation take their names from the operation's node, so give a stateful operation a name to keep its
 * state across any change upstream.
 */
export class NameGenerator {
  private readonly taken = new Set<string>();
  private readonly ranks = new Map<string, number>();

  /** The derived name of `operation` applied to `parents`, or `named.name` when given; each name is used once. */
  name(operation: string, parents: readonly string[], named: Named | undefined): string {
    const given = named?.name;
    if (given !== undefined) return this.claim(given);
    const path = `${[...parents].sort().join('\u0000')}\u0001${operation}`;
    const rank = this.ranks.get(path) ?? 0;
    this.ranks.set(path, rank + 1);
    let name = `${operation}-${fnv1a(`${path}\u0002${rank}`)}`;
    // A hash collision (unlikely) takes the next free suffix, in program order.
    for (let i = 1; this.taken.has(name); i++)
      name = `${operation}-${fnv1a(`${path}\u0002${rank}\u0003${i}`)}`;
    return this.claim(name);
  }

  /** Registers a name, failing with INVALID_TOPOLOGY when it is taken. */
  claim(name: string): string {
    if (this.taken.has(name)) {
      throw new StreamsError('INVALID_TOPOLOGY', `the name "${name}" is used twice in this topology`);
    }
    this.taken.add(name);
    return name;
  }
}

/** 32-bit FNV-1a of the UTF-16 code units, as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}
