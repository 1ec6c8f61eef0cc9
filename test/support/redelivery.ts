// Tells a test reader whether a record is new to it: a rebalance of the reader's own consumer group delivers records
// again from its last commit, and counted twice they would end a counted read early, stand for an older value read
// after a newer one, or look like a duplicate output (a real duplicate sits at an offset of its own).
export function firstDeliveries(topic: string): (partition: number, offset: string) => boolean {
  const seen = new Set<string>();
  let again = 0;
  return (partition, offset) => {
    const at = `${partition}:${offset}`;
    if (!seen.has(at)) {
      seen.add(at);
      return true;
    }
    if (again++ === 0) process.stderr.write(`[read] ${topic}: records delivered again, skipped\n`);
    return false;
  };
}
