// Kafka's consumer protocol envelopes (ConsumerProtocolSubscription and ConsumerProtocolAssignment, version 0): the
// bytes a member announces in JoinGroup and the bytes the leader hands each member in SyncGroup, userData included.

const VERSION = 0;

export interface Subscription {
  topics: string[];
  userData: Buffer;
}

export interface Assignment {
  partitions: { topic: string; partition: number }[];
  userData: Buffer | null;
}

export function encodeSubscription({ topics, userData }: Subscription): Buffer {
  const parts: Buffer[] = [int16(VERSION), int32(topics.length)];
  for (const topic of topics) parts.push(str(topic));
  parts.push(bytes(userData));
  return Buffer.concat(parts);
}

/** A member's subscription, or null for bytes that are not one (the member is then left without partitions). */
export function decodeSubscription(buffer: Buffer | null): Subscription | null {
  if (buffer === null) return null;
  try {
    const r = new Reader(buffer);
    r.int16();
    const topics = r.array(() => r.str());
    return { topics, userData: r.remaining() >= 4 ? (r.bytes() ?? Buffer.alloc(0)) : Buffer.alloc(0) };
  } catch {
    return null;
  }
}

/** Every topic of `topics` is listed, with or without partitions, as the kafkajs adapter writes it. */
export function encodeAssignment(topics: string[], assignment: Assignment): Buffer {
  const byTopic = new Map<string, number[]>(topics.map((t) => [t, []]));
  for (const { topic, partition } of assignment.partitions)
    byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
  const parts: Buffer[] = [int16(VERSION), int32(byTopic.size)];
  for (const [topic, partitions] of byTopic) {
    parts.push(str(topic), int32(partitions.length), ...partitions.map(int32));
  }
  parts.push(bytes(assignment.userData));
  return Buffer.concat(parts);
}

export function decodeAssignment(buffer: Buffer): Assignment {
  if (buffer.length < 2) return { partitions: [], userData: null };
  const r = new Reader(buffer);
  r.int16();
  const partitions: Assignment['partitions'] = [];
  for (const [topic, ps] of r.array(() => [r.str(), r.array(() => r.int32())] as const)) {
    for (const partition of ps) partitions.push({ topic, partition });
  }
  const userData = r.remaining() >= 4 ? r.bytes() : null;
  return { partitions, userData: userData === null || userData.length === 0 ? null : userData };
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function str(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  return Buffer.concat([int16(body.length), body]);
}

function bytes(b: Buffer | null): Buffer {
  return b === null ? int32(-1) : Buffer.concat([int32(b.length), b]);
}

class Reader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}

  remaining(): number {
    return this.buffer.length - this.at;
  }

  int16(): number {
    const n = this.buffer.readInt16BE(this.at);
    this.at += 2;
    return n;
  }

  int32(): number {
    const n = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return n;
  }

  str(): string {
    const length = this.int16();
    const s = this.buffer.toString('utf8', this.at, this.at + length);
    this.at += length;
    return s;
  }

  bytes(): Buffer | null {
    const length = this.int32();
    if (length < 0) return null;
    if (length > this.remaining()) throw new RangeError('truncated bytes');
    const b = this.buffer.subarray(this.at, this.at + length);
    this.at += length;
    return b;
  }

  array<T>(item: () => T): T[] {
    const n = this.int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  }
}
