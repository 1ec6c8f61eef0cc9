// The check of a count pipeline's output: the last count of every key is the number of input records with that key.

/** Input records per key. */
export function expectedCounts(records: number, keyOf: (i: number) => string): Map<string, number> {
  const expected = new Map<string, number>();
  for (let i = 0; i < records; i++) {
    const key = keyOf(i);
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  return expected;
}

/** Thrown when a pipeline's output does not hold the exact counts; `code` is stable. */
export class WrongCountsError extends Error {
  readonly code = 'WRONG_COUNTS';
  constructor(
    readonly topic: string,
    /** Keys whose last count differs from their input count, or that are missing. */
    readonly wrong: number,
    /** Keys in the output that no input record has. */
    readonly unexpected: number,
    example: string,
  ) {
    super(
      `${topic}: ${wrong} keys have a wrong or missing count and ${unexpected} keys should not be there` +
        (example ? ` (e.g. ${example})` : ''),
    );
    this.name = 'WrongCountsError';
  }
}

/**
 * Throws WrongCountsError unless `last` (each key's last count read from the output, in output order: a key is in
 * one partition, its counts in order) equals `expected`: none lost, none counted twice, no stray keys.
 */
export function checkCounts(topic: string, last: Map<string, number>, expected: Map<string, number>): void {
  let wrong = 0;
  let example = '';
  for (const [key, n] of expected) {
    if (last.get(key) === n) continue;
    wrong++;
    example ||= `${key}: ${last.get(key) ?? 'missing'} for ${n}`;
  }
  let unexpected = 0;
  for (const key of last.keys()) {
    if (expected.has(key)) continue;
    unexpected++;
    example ||= `${key} is not an input key`;
  }
  if (wrong > 0 || unexpected > 0) throw new WrongCountsError(topic, wrong, unexpected, example);
}
