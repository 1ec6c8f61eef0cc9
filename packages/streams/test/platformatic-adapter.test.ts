// The @platformatic/kafka adapter's pieces that need no broker: the consumer protocol envelopes, the read_committed
// filtering of a fetch, and what its errors mean to the runtime.
import { describe, expect, it } from 'vitest';
import { StreamsError } from '../src/errors.js';
import {
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from '../src/kafka/platformatic/consumer-protocol.js';
import {
  offsetCommitError,
  portError,
  securityFailure,
  transactionFailure,
} from '../src/kafka/platformatic/errors.js';
import { fetchOnce } from '../src/kafka/platformatic/fetch-records.js';
import type { Library, Platformatic } from '../src/kafka/platformatic/library.js';
import { isTransient } from '../src/runtime/transient-failures.js';

describe('consumer protocol envelopes', () => {
  it('round-trip a subscription and an assignment with its userData', () => {
    const sub = encodeSubscription({ topics: ['a', 'b'], userData: Buffer.from([1, 2, 3]) });
    expect(decodeSubscription(sub)).toEqual({ topics: ['a', 'b'], userData: Buffer.from([1, 2, 3]) });
    const bytes = encodeAssignment(['a', 'b'], {
      partitions: [
        { topic: 'a', partition: 2 },
        { topic: 'a', partition: 0 },
      ],
      userData: Buffer.from('plan'),
    });
    expect(decodeAssignment(bytes)).toEqual({
      partitions: [
        { topic: 'a', partition: 2 },
        { topic: 'a', partition: 0 },
      ],
      userData: Buffer.from('plan'),
    });
    expect(decodeAssignment(Buffer.alloc(0))).toEqual({ partitions: [], userData: null });
    expect(decodeSubscription(Buffer.from([0]))).toBeNull();
  });
});

const IS_TRANSACTIONAL = 1 << 4;
const IS_CONTROL = 1 << 5;

function batch(firstOffset: bigint, producerId: bigint, values: string[], attributes = IS_TRANSACTIONAL) {
  return {
    firstOffset,
    lastOffsetDelta: values.length - 1,
    attributes,
    producerId,
    firstTimestamp: 1000n,
    records: values.map((v, i) => ({
      offsetDelta: i,
      timestampDelta: BigInt(i),
      key: null,
      value: Buffer.from(v),
      headers: [[Buffer.from('h'), Buffer.from(v)]],
    })),
  };
}

function marker(offset: bigint, producerId: bigint, abort: boolean) {
  const key = Buffer.alloc(4);
  key.writeInt16BE(abort ? 0 : 1, 2);
  return {
    ...batch(offset, producerId, ['']),
    attributes: IS_TRANSACTIONAL | IS_CONTROL,
    records: [{ key }],
  };
}

/** A library stand-in whose one broker answers every Fetch with `partition`. */
function fakeLibrary(partition: object): { lib: Library; client: Platformatic.Base } {
  const metadata = {
    brokers: new Map([[1, { host: 'h', port: 1 }]]),
    topics: new Map([['t', { id: 'id-t', partitionsCount: 1, partitions: [{ leader: 1 }] }]]),
  };
  const kGetApi = Symbol('api');
  const kGetConnection = Symbol('connection');
  const client = {
    metadata: async () => metadata,
    [kGetConnection]: (_: unknown, cb: (e: null, c: object) => void) => cb(null, {}),
    [kGetApi]: (_: string, cb: (e: null, api: unknown) => void) =>
      cb(null, (...args: unknown[]) =>
        (args.at(-1) as (e: null, r: unknown) => void)(null, {
          responses: [{ topicId: 'id-t', partitions: [partition] }],
        }),
      ),
  };
  return {
    lib: { kGetApi, kGetConnection } as unknown as Library,
    client: client as unknown as Platformatic.Base,
  };
}

describe('a fetch under read_committed', () => {
  it('drops the records of overlapping aborted transactions and markers, and the records before the position', async () => {
    // Producer 1 aborts [0, 3), producer 2 commits [2, 5), producer 1 again aborts [6, 8); the broker lists the
    // aborted transactions in the order they ended.
    const { lib, client } = fakeLibrary({
      partitionIndex: 0,
      errorCode: 0,
      highWatermark: 12n,
      lastStableOffset: 12n,
      abortedTransactions: [
        { producerId: 1n, firstOffset: 6n },
        { producerId: 1n, firstOffset: 0n },
      ],
      records: [
        batch(0n, 1n, ['x0', 'x1']),
        batch(2n, 2n, ['c2', 'c3']),
        marker(4n, 1n, true),
        marker(5n, 2n, false),
        batch(6n, 1n, ['x6', 'x7']),
        marker(8n, 1n, true),
        batch(9n, 3n, ['p9', 'p10'], 0),
      ],
    });
    const settings = { readCommitted: true, maxWaitMs: 0, maxBytes: 1, maxBytesPerPartition: 1 };
    const [fetched] = await fetchOnce(lib, client, [{ topic: 't', partition: 0, offset: 3n }], settings);
    expect(fetched?.records.map((r) => [r.offset, r.value?.toString()])).toEqual([
      ['3', 'c3'],
      ['9', 'p9'],
      ['10', 'p10'],
    ]);
    expect(fetched?.records[0]?.headers).toEqual({ h: Buffer.from('c3') });
    expect(fetched?.records[0]?.timestamp).toBe(1001);
    expect(fetched?.fetchedThrough).toBe(10n);
    expect(fetched?.highWatermark).toBe(12n);
  });
});

describe('errors', () => {
  const protocolError = (apiId: string) =>
    Object.assign(
      new AggregateError([Object.assign(new Error(apiId), { apiId, code: 'PLT_KFK_PROTOCOL' })], 'x'),
      {
        code: 'PLT_KFK_RESPONSE',
      },
    );

  it('a lost connection and a moving coordinator are transient, also inside the runtime errors', () => {
    const lost = new AggregateError(
      [Object.assign(new Error('closed'), { code: 'PLT_KFK_NETWORK' })],
      'retries',
    );
    expect(isTransient(portError(lost))).toBe(true);
    expect(isTransient(new StreamsError('COMMIT_FAILED', 'x', { cause: portError(lost) }))).toBe(true);
    expect(isTransient(portError(protocolError('NOT_COORDINATOR')))).toBe(true);
    expect(isTransient(portError(protocolError('INVALID_CONFIG')))).toBe(false);
  });

  it('rebalances and fencing are TASK_MIGRATED; refused rights and identities are security failures', () => {
    expect(offsetCommitError(protocolError('ILLEGAL_GENERATION'))).toMatchObject({ code: 'TASK_MIGRATED' });
    expect(transactionFailure(protocolError('PRODUCER_FENCED'))).toMatchObject({ code: 'TASK_MIGRATED' });
    expect(securityFailure(protocolError('TOPIC_AUTHORIZATION_FAILED'))).toMatchObject({
      code: 'AUTHORIZATION_FAILED',
    });
    expect(
      securityFailure(Object.assign(new Error('bad password'), { code: 'PLT_KFK_AUTHENTICATION' })),
    ).toMatchObject({ code: 'AUTHENTICATION_FAILED' });
    expect(securityFailure(protocolError('NOT_COORDINATOR'))).toBeUndefined();
  });

  it('a refused TLS handshake or SASL login inside a failed connection is not transient', () => {
    const connection = (cause: Error) =>
      new AggregateError(
        [Object.assign(new Error('Connection failed.'), { code: 'PLT_KFK_NETWORK', cause })],
        'retries',
      );
    const tls = connection(
      Object.assign(new Error('self-signed certificate'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }),
    );
    expect(isTransient(portError(tls))).toBe(false);
    expect(securityFailure(tls)).toMatchObject({ code: 'AUTHENTICATION_FAILED' });
    const sasl = connection(
      Object.assign(new Error('SASL authentication failed.'), {
        code: 'PLT_KFK_AUTHENTICATION',
        cause: Object.assign(new Error('bad password'), { apiId: 'SASL_AUTHENTICATION_FAILED' }),
      }),
    );
    expect(isTransient(portError(sasl))).toBe(false);
    expect(securityFailure(sasl)).toMatchObject({ code: 'AUTHENTICATION_FAILED' });
  });
});
