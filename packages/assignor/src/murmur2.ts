// Kafka's default partitioner for keyed records: murmur2 (32-bit, seed 0x9747b28c) of the key bytes.

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** murmur2 of `data` as a signed 32-bit integer, bit-for-bit what the Java client computes. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & 3;
  if (tail > 0) {
    if (tail === 3) h ^= data[blocks + 2]! << 16;
    if (tail >= 2) h ^= data[blocks + 1]! << 8;
    h ^= data[blocks]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition Kafka's default partitioner picks for a record with this key. */
export function partitionForKey(key: Uint8Array, numPartitions: number): number {
  return (murmur2(key) & 0x7fffffff) % numPartitions;
}
