// Properties of the userData codec: valid values round-trip; any bytes decode or throw a typed error; the leader
// assigns the readable members whatever the others send.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// Many runs each: generous on a loaded machine.
const slow = { timeout: 60_000 };

import type { AssignmentInfo, HostTasks, ProtocolMember, SubscriptionInfo } from '../src/index.js';
import {
  ASSIGNMENT_ERROR_CODES,
  decodeAssignment,
  decodeOwnAssignment,
  decodeSubscription,
  eddyGroupProtocol,
  encodeAssignment,
  encodeSubscription,
  isAssignorError,
  LATEST_CODEC_VERSION,
} from '../src/index.js';

const taskIdArb = fc
  .tuple(fc.nat({ max: 5000 }), fc.nat({ max: 5000 }))
  .map(([subtopology, partition]) => `${subtopology}_${partition}`);
const taskListArb = fc.uniqueArray(taskIdArb, { maxLength: 12 });
const textArb = fc.string({ unit: 'binary', maxLength: 40 });
const optionalTextArb = fc.option(
  textArb.filter((s) => s !== '' && s.isWellFormed()),
  { nil: undefined },
);
const versionArb = fc.integer({ min: 1, max: LATEST_CODEC_VERSION });

const subscriptionArb: fc.Arbitrary<SubscriptionInfo> = fc.record(
  {
    identity: textArb.filter((s) => s.isWellFormed()),
    processId: fc.uuid(),
    taskLags: fc.dictionary(taskIdArb, fc.maxSafeNat(), { maxKeys: 12 }),
    endpoint: optionalTextArb,
    rack: optionalTextArb,
  },
  { requiredKeys: ['identity', 'processId', 'taskLags'] },
);

const hostTasksArb: fc.Arbitrary<HostTasks> = fc.record(
  { active: taskListArb, standby: taskListArb, rack: optionalTextArb },
  { requiredKeys: ['active', 'standby'] },
);

const assignmentArb: fc.Arbitrary<AssignmentInfo> = fc.record({
  active: taskListArb,
  standby: taskListArb,
  warmup: taskListArb,
  hostOf: fc
    .uniqueArray(
      fc.tuple(
        textArb.filter((s) => s.isWellFormed()),
        hostTasksArb,
      ),
      {
        maxLength: 5,
        selector: ([endpoint]) => endpoint,
      },
    )
    .map((entries) => new Map(entries)),
  probingRebalanceNeeded: fc.boolean(),
  errorCode: fc.constantFrom(...ASSIGNMENT_ERROR_CODES),
});

/** Bytes shaped like userData: random, or a valid encoding cut, extended, or with some bytes changed. */
const hostileBytesArb = (valid: fc.Arbitrary<Buffer>): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1))),
    fc.tuple(valid, fc.uint8Array({ minLength: 1, maxLength: 20 })).map(([b, t]) => Buffer.concat([b, t])),
    fc
      .tuple(
        valid,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
      )
      .map(([b, edits]) => {
        const out = Buffer.from(b);
        for (const [at, byte] of edits) out[at % out.length] = byte;
        return out;
      }),
    // Counts and lengths far beyond the bytes that follow: a varint of 2^31 or 2^53 - 1 after a valid head.
    fc
      .tuple(
        valid,
        fc.constantFrom([0x80, 0x80, 0x80, 0x80, 0x08], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
      )
      .map(([b, varint]) => Buffer.concat([b.subarray(0, 4), Buffer.of(...varint)])),
  );

function expectTyped(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    if (
      !isAssignorError(err, 'ASSIGNOR_DECODE_FAILED') &&
      !isAssignorError(err, 'ASSIGNOR_UNSUPPORTED_VERSION')
    ) {
      throw new Error(`expected an AssignorError, got ${String(err)}`, { cause: err });
    }
  }
}

describe('subscription userData', () => {
  it('round-trips every valid subscription in every version', slow, () => {
    fc.assert(
      fc.property(subscriptionArb, versionArb, (info, version) => {
        const got = decodeSubscription(encodeSubscription(info, { version }));
        expect(got.version).toBe(version);
        expect(got.identity).toBe(info.identity);
        expect(got.processId).toBe(info.processId.toLowerCase());
        expect(Object.fromEntries(got.taskLags)).toEqual(info.taskLags);
        expect(got.endpoint).toBe(info.endpoint);
        expect(got.rack).toBe(version >= 2 ? info.rack : undefined);
      }),
    );
  });

  it('reads a newer member as far as it understands, whatever that member appends', slow, () => {
    fc.assert(
      fc.property(
        subscriptionArb,
        fc.integer({ min: LATEST_CODEC_VERSION + 1, max: 0x7fff }),
        fc.uint8Array({ maxLength: 50 }),
        (info, newer, tail) => {
          const bytes = Buffer.concat([encodeSubscription(info), tail]);
          bytes.writeInt16BE(newer, 0);
          bytes.writeInt16BE(newer, 2);
          const got = decodeSubscription(bytes);
          expect([got.version, got.latestSupportedVersion]).toEqual([newer, newer]);
          expect(Object.fromEntries(got.taskLags)).toEqual(info.taskLags);
          expect(got.rack).toBe(info.rack);
        },
      ),
    );
  });

  it('decodes any bytes or throws ASSIGNOR_DECODE_FAILED', slow, () => {
    const valid = subscriptionArb.map((info) => encodeSubscription(info));
    fc.assert(
      fc.property(hostileBytesArb(valid), (bytes) => expectTyped(() => decodeSubscription(bytes))),
      { numRuns: 2000 },
    );
  });
});

describe('assignment userData', () => {
  it('round-trips every valid assignment in every version', slow, () => {
    fc.assert(
      fc.property(assignmentArb, versionArb, (info, version) => {
        const got = decodeAssignment(encodeAssignment(info, { version }));
        expect(got.version).toBe(version);
        expect([got.active, got.standby, got.warmup]).toEqual([info.active, info.standby, info.warmup]);
        expect(got.probingRebalanceNeeded).toBe(info.probingRebalanceNeeded);
        const expectedCode =
          version < 3 && info.errorCode === 'SOURCE_TOPIC_PARTITIONS_CHANGED'
            ? 'SHUTDOWN_REQUESTED'
            : info.errorCode;
        expect(got.errorCode).toBe(expectedCode);
        const hosts = [...info.hostOf].map(([endpoint, t]) => [
          endpoint,
          version >= 2 && t.rack !== undefined ? t : { active: t.active, standby: t.standby },
        ]);
        expect(new Map([...got.hostOf])).toEqual(new Map(hosts as [string, HostTasks][]));
      }),
    );
  });

  it('decodes any bytes or throws a typed error (decode failure or unsupported version)', slow, () => {
    const valid = assignmentArb.map((info) => encodeAssignment(info));
    fc.assert(
      fc.property(hostileBytesArb(valid), (bytes) => {
        expectTyped(() => decodeAssignment(bytes));
        expectTyped(() => decodeOwnAssignment(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the leader, given members that send anything', () => {
  it('assigns every task to the readable members and nothing to the others, without throwing', slow, () => {
    const valid = subscriptionArb.map((info) => encodeSubscription(info));
    fc.assert(
      fc.property(
        fc.array(fc.oneof(valid, hostileBytesArb(valid)), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 8 }),
        (userData, partitions) => {
          const own = { identity: 'leader', processId: '00000000-0000-4000-8000-000000000000', taskLags: {} };
          const members: ProtocolMember[] = [
            { memberId: 'leader', userData: encodeSubscription(own) },
            ...userData.map((bytes, i) => ({ memberId: `m${i}`, userData: Buffer.from(bytes) })),
          ];
          const ignored = new Set<string>();
          const protocol = eddyGroupProtocol({
            topicGroups: [{ subtopology: 0, sourceTopics: ['in'], stateful: true }],
            subscription: () => own,
            onMemberIgnored: (memberId) => ignored.add(memberId),
          });
          let plans: ReturnType<typeof protocol.assign>;
          try {
            plans = protocol.assign(members, () => partitions);
          } catch (err) {
            // Readable members may still be inconsistent with each other (the same process id twice, say).
            expect(isAssignorError(err, 'ASSIGNOR_INVALID_INPUT')).toBe(true);
            return;
          }
          const assigned: number[] = [];
          for (const { memberId, userData: bytes } of members) {
            const plan = plans.get(memberId)!;
            let readable = true;
            try {
              decodeSubscription(bytes);
            } catch {
              readable = false;
            }
            expect(ignored.has(memberId)).toBe(!readable);
            if (!readable) {
              expect(plan).toEqual({ partitions: [], userData: Buffer.alloc(0) });
              continue;
            }
            expect(decodeOwnAssignment(plan.userData).active.length).toBe(plan.partitions.length);
            assigned.push(...plan.partitions.map((p) => p.partition));
          }
          expect(assigned.sort((a, b) => a - b)).toEqual([...Array(partitions).keys()]);
        },
      ),
      { numRuns: 500 },
    );
  });
});
