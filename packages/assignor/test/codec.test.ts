import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AssignmentInfo, AssignorErrorCode, SubscriptionInfo } from '../src/index.js';
import {
  assignTasks,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeGroupAssignment,
  encodeSubscription,
  isAssignorError,
  LATEST_CODEC_VERSION,
  negotiateVersion,
} from '../src/index.js';
import { member, statefulTasks } from './helpers.js';

function codeOf(call: () => unknown): AssignorErrorCode | undefined {
  try {
    call();
  } catch (err) {
    if (isAssignorError(err)) return err.code;
    throw err;
  }
  return undefined;
}

const hex = (s: string) => Buffer.from(s, 'hex');

const subscription: SubscriptionInfo = {
  identity: 'app-3',
  processId: '0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
  taskLags: { '0_3': 0, '1_3': 300, '0_12': 70_000 },
  endpoint: 'app-3.app:7070',
  rack: 'zone-a',
};

const assignment: AssignmentInfo = {
  active: ['0_3', '1_3'],
  standby: ['0_1'],
  warmup: ['0_4'],
  hostOf: new Map([
    ['app-3.app:7070', { active: ['0_3', '1_3'], standby: ['0_1'], rack: 'zone-a' }],
    ['app-1.app:7070', { active: ['0_1'], standby: [] }],
  ]),
  probingRebalanceNeeded: true,
  errorCode: 'NONE',
};

// Committed bytes: if the layout changes, these fail; a change needs a new version, not an edit.
const FIXTURES = {
  subscriptionV1:
    '00010001056170702d330f8e7d6c5b4a439281706f5e4d3c2b1a03000300000cf0a2040103ac020e6170702d332e6170703a37303730',
  subscriptionV2:
    '00020002056170702d330f8e7d6c5b4a439281706f5e4d3c2b1a03000300000cf0a2040103ac020e6170702d332e6170703a37303730067a6f6e652d61',
  assignmentV1:
    '0001000200010200030103010001010004020e6170702d312e6170703a37303730010001000e6170702d332e6170703a373037300200030103010001',
  assignmentV2:
    '0002000200010200030103010001010004020e6170702d312e6170703a37303730010001000e6170702d332e6170703a37303730020003010301000100067a6f6e652d61',
  subscriptionV3:
    '00030003056170702d330f8e7d6c5b4a439281706f5e4d3c2b1a03000300000cf0a2040103ac020e6170702d332e6170703a37303730067a6f6e652d61',
  assignmentV3:
    '0003000300010200030103010001010004020e6170702d312e6170703a37303730010001000e6170702d332e6170703a37303730020003010301000100067a6f6e652d61',
  /** Version 3 with error code 3, SOURCE_TOPIC_PARTITIONS_CHANGED, and no tasks. */
  assignmentV3PartitionsChanged: '00030003030000000000',
};

describe('subscription codec', () => {
  it('decodes the committed version 1 fixture', () => {
    expect(decodeSubscription(hex(FIXTURES.subscriptionV1))).toEqual({
      version: 1,
      latestSupportedVersion: 1,
      identity: 'app-3',
      processId: '0f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
      taskLags: new Map([
        ['0_3', 0],
        ['0_12', 70_000],
        ['1_3', 300],
      ]),
      endpoint: 'app-3.app:7070',
    });
  });

  it('decodes the committed version 2 fixture, which adds the rack', () => {
    const decoded = decodeSubscription(hex(FIXTURES.subscriptionV2));
    expect(decoded.version).toBe(2);
    expect(decoded.rack).toBe('zone-a');
    expect(decoded.taskLags.get('0_12')).toBe(70_000);
  });

  it('decodes the committed version 3 fixture, laid out as version 2', () => {
    const decoded = decodeSubscription(hex(FIXTURES.subscriptionV3));
    expect(decoded.version).toBe(3);
    expect(decoded.rack).toBe('zone-a');
    expect(decodeSubscription(hex(FIXTURES.subscriptionV3), { supportedVersion: 2 }).rack).toBe('zone-a');
  });

  it('encodes to exactly the fixtures', () => {
    expect(encodeSubscription(subscription, { version: 1, latestSupportedVersion: 1 }).toString('hex')).toBe(
      FIXTURES.subscriptionV1,
    );
    expect(encodeSubscription(subscription, { version: 2, latestSupportedVersion: 2 }).toString('hex')).toBe(
      FIXTURES.subscriptionV2,
    );
    expect(encodeSubscription(subscription).toString('hex')).toBe(FIXTURES.subscriptionV3);
  });

  it('lets a version 1 reader read the version 1 prefix of a version 2 subscription', () => {
    const decoded = decodeSubscription(hex(FIXTURES.subscriptionV2), { supportedVersion: 1 });
    expect(decoded.version).toBe(2);
    expect(decoded.latestSupportedVersion).toBe(2);
    expect(decoded.rack).toBeUndefined();
    expect(decoded.endpoint).toBe('app-3.app:7070');
  });

  it('round-trips arbitrary subscriptions in every version', () => {
    const taskId = fc.tuple(fc.nat(1000), fc.nat(100_000)).map(([s, p]) => `${s}_${p}`);
    fc.assert(
      fc.property(
        fc.record({
          identity: fc.string({ maxLength: 40 }),
          processId: fc.uuid(),
          taskLags: fc.dictionary(taskId, fc.maxSafeNat()),
          endpoint: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
          rack: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
        }),
        fc.constantFrom(1, 2, 3),
        (info, version) => {
          const decoded = decodeSubscription(encodeSubscription(info, { version }));
          expect(decoded.version).toBe(version);
          expect(decoded.identity).toBe(info.identity);
          expect(decoded.processId).toBe(info.processId.toLowerCase());
          expect(decoded.taskLags).toEqual(new Map(Object.entries(info.taskLags)));
          expect(decoded.endpoint).toBe(info.endpoint);
          expect(decoded.rack).toBe(version >= 2 ? info.rack : undefined);
        },
      ),
    );
  });

  it('rejects malformed bytes with ASSIGNOR_DECODE_FAILED', () => {
    const valid = hex(FIXTURES.subscriptionV1);
    expect(codeOf(() => decodeSubscription(new Uint8Array()))).toBe('ASSIGNOR_DECODE_FAILED');
    for (let cut = 1; cut < valid.length; cut++) {
      expect(codeOf(() => decodeSubscription(valid.subarray(0, cut)))).toBe('ASSIGNOR_DECODE_FAILED');
    }
    expect(codeOf(() => decodeSubscription(Buffer.concat([valid, hex('00')])))).toBe(
      'ASSIGNOR_DECODE_FAILED',
    );
    expect(codeOf(() => decodeSubscription(hex('00000000')))).toBe('ASSIGNOR_DECODE_FAILED');
    // latestSupportedVersion below version
    expect(codeOf(() => decodeSubscription(hex(`00020001${FIXTURES.subscriptionV1.slice(8)}`)))).toBe(
      'ASSIGNOR_DECODE_FAILED',
    );
    // a task count far larger than the bytes that follow
    expect(
      codeOf(() =>
        decodeSubscription(hex('00010001 00 0f8e7d6c5b4a439281706f5e4d3c2b1a ffffff7f'.replaceAll(' ', ''))),
      ),
    ).toBe('ASSIGNOR_DECODE_FAILED');
  });

  it('never throws anything but ASSIGNOR_DECODE_FAILED on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const code = codeOf(() => decodeSubscription(bytes));
        expect(code === undefined || code === 'ASSIGNOR_DECODE_FAILED').toBe(true);
      }),
    );
  });

  it('refuses to encode what the format cannot carry', () => {
    expect(codeOf(() => encodeSubscription({ ...subscription, processId: 'not-a-uuid' }))).toBe(
      'ASSIGNOR_ENCODE_FAILED',
    );
    expect(codeOf(() => encodeSubscription({ ...subscription, taskLags: { orders: 0 } }))).toBe(
      'ASSIGNOR_ENCODE_FAILED',
    );
    expect(codeOf(() => encodeSubscription({ ...subscription, taskLags: { '0_1': -1 } }))).toBe(
      'ASSIGNOR_ENCODE_FAILED',
    );
    expect(codeOf(() => encodeSubscription(subscription, { version: 4 }))).toBe(
      'ASSIGNOR_UNSUPPORTED_VERSION',
    );
  });
});

describe('assignment codec', () => {
  it('decodes the committed fixtures', () => {
    const v1 = decodeAssignment(hex(FIXTURES.assignmentV1));
    expect(v1).toEqual({
      ...assignment,
      version: 1,
      latestSupportedVersion: 2,
      hostOf: new Map([
        ['app-1.app:7070', { active: ['0_1'], standby: [] }],
        ['app-3.app:7070', { active: ['0_3', '1_3'], standby: ['0_1'] }],
      ]),
    });
    const v2 = decodeAssignment(hex(FIXTURES.assignmentV2));
    expect(v2).toEqual({ ...assignment, version: 2, latestSupportedVersion: 2 });
    const v3 = decodeAssignment(hex(FIXTURES.assignmentV3));
    expect(v3).toEqual({ ...assignment, version: 3, latestSupportedVersion: 3 });
    expect(decodeAssignment(hex(FIXTURES.assignmentV3PartitionsChanged))).toMatchObject({
      version: 3,
      errorCode: 'SOURCE_TOPIC_PARTITIONS_CHANGED',
      active: [],
    });
  });

  it('encodes to exactly the fixtures', () => {
    expect(encodeAssignment(assignment, { version: 1, latestSupportedVersion: 2 }).toString('hex')).toBe(
      FIXTURES.assignmentV1,
    );
    expect(encodeAssignment(assignment, { version: 2, latestSupportedVersion: 2 }).toString('hex')).toBe(
      FIXTURES.assignmentV2,
    );
    expect(encodeAssignment(assignment).toString('hex')).toBe(FIXTURES.assignmentV3);
    const changed: AssignmentInfo = {
      active: [],
      standby: [],
      warmup: [],
      hostOf: new Map(),
      probingRebalanceNeeded: false,
      errorCode: 'SOURCE_TOPIC_PARTITIONS_CHANGED',
    };
    expect(encodeAssignment(changed).toString('hex')).toBe(FIXTURES.assignmentV3PartitionsChanged);
  });

  it('writes SOURCE_TOPIC_PARTITIONS_CHANGED as SHUTDOWN_REQUESTED for readers older than version 3', () => {
    const changed: AssignmentInfo = { ...assignment, errorCode: 'SOURCE_TOPIC_PARTITIONS_CHANGED' };
    for (const version of [1, 2]) {
      const bytes = encodeAssignment(changed, { version });
      expect(decodeAssignment(bytes, { supportedVersion: version }).errorCode).toBe('SHUTDOWN_REQUESTED');
    }
    // A version 2 assignment cannot carry code 3: only a broken leader writes that.
    const forged = hex(FIXTURES.assignmentV2);
    forged[4] = 3;
    expect(codeOf(() => decodeAssignment(forged))).toBe('ASSIGNOR_DECODE_FAILED');
  });

  it('carries the error code and the probing flag', () => {
    const decoded = decodeAssignment(
      encodeAssignment({ ...assignment, errorCode: 'SHUTDOWN_REQUESTED', probingRebalanceNeeded: false }),
    );
    expect(decoded.errorCode).toBe('SHUTDOWN_REQUESTED');
    expect(decoded.probingRebalanceNeeded).toBe(false);
  });

  it('rejects an assignment newer than the reader with ASSIGNOR_UNSUPPORTED_VERSION', () => {
    expect(codeOf(() => decodeAssignment(hex(FIXTURES.assignmentV3), { supportedVersion: 2 }))).toBe(
      'ASSIGNOR_UNSUPPORTED_VERSION',
    );
  });

  it('rejects malformed bytes with ASSIGNOR_DECODE_FAILED', () => {
    const valid = hex(FIXTURES.assignmentV2);
    for (let cut = 0; cut < valid.length; cut++) {
      expect(codeOf(() => decodeAssignment(valid.subarray(0, cut)))).toBe('ASSIGNOR_DECODE_FAILED');
    }
    const unknownError = Buffer.from(valid);
    unknownError[4] = 9;
    expect(codeOf(() => decodeAssignment(unknownError))).toBe('ASSIGNOR_DECODE_FAILED');
    const unknownFlag = Buffer.from(valid);
    unknownFlag[5] = 0x03;
    expect(codeOf(() => decodeAssignment(unknownFlag))).toBe('ASSIGNOR_DECODE_FAILED');
  });

  it('never throws anything but a coded error on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        const code = codeOf(() => decodeAssignment(bytes));
        expect(
          code === undefined || code === 'ASSIGNOR_DECODE_FAILED' || code === 'ASSIGNOR_UNSUPPORTED_VERSION',
        ).toBe(true);
      }),
    );
  });
});

describe('version negotiation', () => {
  it('picks the lowest version any member supports, capped by the leader', () => {
    expect(negotiateVersion([3, 2, 3])).toBe(2);
    expect(negotiateVersion([2, 1, 2])).toBe(1);
    expect(negotiateVersion([7, 9])).toBe(LATEST_CODEC_VERSION);
    expect(negotiateVersion([2, 2], 1)).toBe(1);
    expect(negotiateVersion([])).toBe(LATEST_CODEC_VERSION);
    expect(codeOf(() => negotiateVersion([2, 0]))).toBe('ASSIGNOR_UNSUPPORTED_VERSION');
  });

  it('gives a version 2 member in a group of version 1 members a version 1 assignment', () => {
    const members = [
      member('app-0', {}, { endpoint: 'app-0:7070', rack: 'a' }),
      member('app-1', {}, { endpoint: 'app-1:7070', rack: 'b' }),
      member('app-2', {}, { endpoint: 'app-2:7070' }),
    ];
    // Subscriptions as each member sends them: app-2 runs the newer build.
    const subscriptions = members.map((m, i) =>
      decodeSubscription(
        encodeSubscription(
          {
            identity: m.identity,
            processId: `00000000-0000-4000-8000-00000000000${i}`,
            taskLags: {},
            endpoint: m.endpoint!,
          },
          i === 2 ? {} : { version: 1, latestSupportedVersion: 1 },
        ),
      ),
    );
    const plan = assignTasks({ members, tasks: statefulTasks(1, 3) });
    const versions = new Map(members.map((m, i) => [m.memberId, subscriptions[i]!.latestSupportedVersion]));
    const encoded = encodeGroupAssignment(plan, versions);
    expect(encoded.version).toBe(1);
    for (const m of members) {
      // Each member reads its userData with its own build: version 1 readers included.
      const supportedVersion = m.identity === 'app-2' ? 2 : 1;
      const decoded = decodeAssignment(encoded.userData.get(m.memberId)!, { supportedVersion });
      expect(decoded.version).toBe(1);
      expect(decoded.active).toEqual(plan.members.get(m.memberId)!.active);
      expect(decoded.hostOf.get('app-0:7070')?.rack).toBeUndefined();
    }
    // All on the newer build: version 2 with racks.
    const upgraded = encodeGroupAssignment(plan, new Map(members.map((m) => [m.memberId, 3])));
    expect(upgraded.version).toBe(3);
    expect(decodeAssignment(upgraded.userData.get('app-2-member')!).hostOf.get('app-0:7070')?.rack).toBe('a');
  });

  it('requires a version for every member of the plan', () => {
    const plan = assignTasks({ members: [member('app-0')], tasks: [] });
    expect(codeOf(() => encodeGroupAssignment(plan, new Map()))).toBe('ASSIGNOR_INVALID_INPUT');
  });
});
