// Balanced quotas weighted by capacity: how many tasks each client (a process, or a thread within one) may hold.

/** One balanced split of `total` tasks: `floors[c]` each, and `remainder` clients may hold one more. */
interface Bound {
  readonly floors: Int32Array;
  readonly remainder: number;
  above: number;
}

/**
 * Per-client counts against one or more balanced quotas. A client of capacity `w` out of a total
 * capacity `W` gets `⌊total·w/W⌋` tasks, and the remainder `R = total − Σ⌊total·w/W⌋` goes to at most
 * `R` clients, one more each. With every capacity 1 that is `⌊total/n⌋`, and `total mod n` clients
 * with one more.
 *
 * With several totals (e.g. the stateful tasks, then all tasks), a client has room only when it has
 * room under each of them: the stateful actives then never take a remainder slot that the totals
 * cannot spare. With equal capacities the smaller total never binds that way.
 */
export class Quota {
  readonly counts: Int32Array;
  private readonly bounds: Bound[];

  constructor(capacities: Int32Array, totals: readonly number[], counts = new Int32Array(capacities.length)) {
    this.counts = counts;
    let capacity = 0;
    for (const w of capacities) capacity += w;
    this.bounds = totals.map((total) => {
      const floors = capacities.map((w) => Math.floor((total * w) / capacity));
      let remainder = total;
      for (const floor of floors) remainder -= floor;
      let above = 0;
      counts.forEach((count, c) => {
        if (count > floors[c]!) above++;
      });
      return { floors, remainder, above };
    });
  }

  hasRoom(c: number): boolean {
    const count = this.counts[c]!;
    for (const { floors, remainder, above } of this.bounds) {
      const floor = floors[c]!;
      if (count > floor || (count === floor && above >= remainder)) return false;
    }
    return true;
  }

  add(c: number): void {
    const count = this.counts[c]!;
    for (const bound of this.bounds) if (count === bound.floors[c]) bound.above++;
    this.counts[c] = count + 1;
  }
}

/** True when `count` tasks on capacity `capacity` is a lighter load than `other` on `otherCapacity`. */
export function lighter(count: number, capacity: number, other: number, otherCapacity: number): boolean {
  return count * otherCapacity < other * capacity;
}
