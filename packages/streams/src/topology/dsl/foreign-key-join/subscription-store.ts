// The right side's record of which left rows subscribe to which foreign key, laid out for point lookups: one entry
// per subscription (its hash, partition and timestamp) and, per foreign key, its subscribers' keys in sorted pages.
import type { KeyValueStore } from '@eddy/state';

export interface Subscriber {
  /** The left key, serialized. */
  primaryKey: Buffer;
  hash: Buffer | null;
  partition: number;
  /** The timestamp of the subscription (that of the left row's update that made it). */
  timestamp: number;
}

/** Keys of the store: a foreign key's page directory, a subscription's entry, a page of subscriber keys. */
const DIRECTORY = 0;
const ENTRY = 1;
const PAGE = 2;

/** How many subscriber keys a page holds before it splits: a foreign key with many subscribers stays many records. */
export const DEFAULT_PAGE_KEYS = 512;

function withForeignKey(kind: number, fk: Buffer, tail: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = kind;
  head.writeUInt32BE(fk.byteLength, 1);
  return Buffer.concat([head, fk, tail]);
}

function pageKey(fk: Buffer, page: number): Buffer {
  const id = Buffer.alloc(4);
  id.writeUInt32BE(page, 0);
  return withForeignKey(PAGE, fk, id);
}

/** A subscription's entry: the left row's partition (int32), the subscription's timestamp (double), its hash. */
function encodeEntry(hash: Buffer | null, partition: number, timestamp: number): Buffer {
  const head = Buffer.alloc(ENTRY_HEAD_BYTES);
  head.writeInt32BE(partition, 0);
  head.writeDoubleBE(timestamp, 4);
  return hash === null ? head : Buffer.concat([head, hash]);
}

const ENTRY_HEAD_BYTES = 12;

/** Length-prefixed byte strings, back to back. */
function encodeKeys(keys: readonly Buffer[], into: Buffer[] = []): Buffer[] {
  for (const k of keys) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(k.byteLength, 0);
    into.push(len, k);
  }
  return into;
}

function decodeKeys(b: Buffer): Buffer[] {
  const keys: Buffer[] = [];
  for (let at = 0; at < b.byteLength; ) {
    const len = b.readUInt32BE(at);
    keys.push(Buffer.from(b.subarray(at + 4, at + 4 + len)));
    at += 4 + len;
  }
  return keys;
}

/** A foreign key's pages in key order: each page's id and its first (smallest) subscriber key. */
interface Directory {
  nextId: number;
  pages: { id: number; first: Buffer }[];
}

function encodeDirectory(d: Directory): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(d.nextId, 0);
  head.writeUInt32BE(d.pages.length, 4);
  const parts: Buffer[] = [head];
  for (const p of d.pages) {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(p.id, 0);
    parts.push(id);
    encodeKeys([p.first], parts);
  }
  return Buffer.concat(parts);
}

function decodeDirectory(b: Buffer): Directory {
  const pages: Directory['pages'] = [];
  let at = 8;
  for (let i = b.readUInt32BE(4); i > 0; i--) {
    const id = b.readUInt32BE(at);
    const len = b.readUInt32BE(at + 4);
    pages.push({ id, first: Buffer.from(b.subarray(at + 8, at + 8 + len)) });
    at += 8 + len;
  }
  return { nextId: b.readUInt32BE(0), pages };
}

/** The index of `key` in the sorted `keys`, or where it would go (as `-(position + 1)`). */
function search(keys: readonly Buffer[], key: Buffer): number {
  let lo = 0;
  let hi = keys.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = Buffer.compare(keys[mid]!, key);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -(lo + 1);
}

/** The page that holds (or would hold) `pk`: the last whose first key is not above it, else the first. */
function pageFor(d: Directory, pk: Buffer): number {
  let lo = 0;
  let hi = d.pages.length - 1;
  let found = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (Buffer.compare(d.pages[mid]!.first, pk) <= 0) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Subscriptions by foreign key over one byte-keyed store. Every read is a point lookup, so the fan-out of a right
 * change can run inside `process()`; subscribers come in the order of their serialized keys, as a prefix scan over
 * (foreign key, primary key) would give them. A left row whose value changes but keeps its foreign key rewrites its
 * own entry only; subscribing or unsubscribing rewrites one page and the foreign key's directory, which stays small
 * (one first key per page).
 */
export class SubscriptionStore {
  constructor(
    private readonly store: KeyValueStore<Buffer, Buffer>,
    private readonly pageKeys = DEFAULT_PAGE_KEYS,
  ) {}

  subscribe(fk: Buffer, pk: Buffer, hash: Buffer | null, partition: number, timestamp: number): void {
    const entry = withForeignKey(ENTRY, fk, pk);
    const known = this.store.get(entry) !== undefined;
    this.store.put(entry, encodeEntry(hash, partition, timestamp));
    if (known) return;
    const dirKey = withForeignKey(DIRECTORY, fk, Buffer.alloc(0));
    const stored = this.store.get(dirKey);
    if (stored === undefined) {
      this.store.put(pageKey(fk, 0), Buffer.concat(encodeKeys([pk])));
      this.store.put(dirKey, encodeDirectory({ nextId: 1, pages: [{ id: 0, first: pk }] }));
      return;
    }
    const dir = decodeDirectory(stored);
    const i = pageFor(dir, pk);
    const page = dir.pages[i]!;
    const keys = decodeKeys(this.store.get(pageKey(fk, page.id)) ?? Buffer.alloc(0));
    const at = search(keys, pk);
    if (at >= 0) return;
    keys.splice(-(at + 1), 0, pk);
    page.first = keys[0]!;
    if (keys.length > this.pageKeys) {
      const upper = keys.splice(keys.length >>> 1);
      const id = dir.nextId++;
      this.store.put(pageKey(fk, id), Buffer.concat(encodeKeys(upper)));
      dir.pages.splice(i + 1, 0, { id, first: upper[0]! });
    }
    this.store.put(pageKey(fk, page.id), Buffer.concat(encodeKeys(keys)));
    this.store.put(dirKey, encodeDirectory(dir));
  }

  unsubscribe(fk: Buffer, pk: Buffer): void {
    if (this.store.delete(withForeignKey(ENTRY, fk, pk)) === undefined) return;
    const dirKey = withForeignKey(DIRECTORY, fk, Buffer.alloc(0));
    const stored = this.store.get(dirKey);
    if (stored === undefined) return;
    const dir = decodeDirectory(stored);
    const i = pageFor(dir, pk);
    const page = dir.pages[i]!;
    const keys = decodeKeys(this.store.get(pageKey(fk, page.id)) ?? Buffer.alloc(0));
    const at = search(keys, pk);
    if (at < 0) return;
    keys.splice(at, 1);
    if (keys.length > 0) {
      this.store.put(pageKey(fk, page.id), Buffer.concat(encodeKeys(keys)));
      if (at > 0) return;
      page.first = keys[0]!;
    } else {
      this.store.delete(pageKey(fk, page.id));
      dir.pages.splice(i, 1);
    }
    if (dir.pages.length === 0) this.store.delete(dirKey);
    else this.store.put(dirKey, encodeDirectory(dir));
  }

  /** The subscriptions to `fk`, in the order of their serialized left keys. */
  subscribers(fk: Buffer): Subscriber[] {
    const out: Subscriber[] = [];
    const stored = this.store.get(withForeignKey(DIRECTORY, fk, Buffer.alloc(0)));
    if (stored === undefined) return out;
    for (const page of decodeDirectory(stored).pages) {
      for (const pk of decodeKeys(this.store.get(pageKey(fk, page.id)) ?? Buffer.alloc(0))) {
        const entry = this.store.get(withForeignKey(ENTRY, fk, pk));
        if (entry === undefined) continue;
        out.push({
          primaryKey: pk,
          partition: entry.readInt32BE(0),
          timestamp: entry.readDoubleBE(4),
          hash: entry.byteLength > ENTRY_HEAD_BYTES ? Buffer.from(entry.subarray(ENTRY_HEAD_BYTES)) : null,
        });
      }
    }
    return out;
  }

  /** How many pages hold the subscribers of `fk` (for tests of the layout). */
  pageCount(fk: Buffer): number {
    const stored = this.store.get(withForeignKey(DIRECTORY, fk, Buffer.alloc(0)));
    return stored === undefined ? 0 : decodeDirectory(stored).pages.length;
  }
}
