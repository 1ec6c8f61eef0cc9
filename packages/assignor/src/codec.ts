// Versioned binary subscription and assignment userData, and the version the leader writes for a group.

import { ByteReader, ByteWriter, decodeFailed } from './binary.js';
import { AssignorError } from './errors.js';
import type { AssignmentPlan, HostTasks } from './plan.js';
import { compareTaskIds, formatTaskId, parseTaskId } from './task-id.js';

/** The newest userData version this build reads and writes. */
export const LATEST_CODEC_VERSION = 3;
/** The oldest userData version this build reads and writes. */
export const MIN_CODEC_VERSION = 1;

/** What a member tells the leader when it joins. */
export interface SubscriptionInfo {
  readonly identity: string;
  /** A UUID, stored as 16 bytes. */
  readonly processId: string;
  /** Task id (`<int>_<int>`) → changelog records behind the end, for every task with local state. */
  readonly taskLags: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  readonly endpoint?: string;
  /** Version 2 and later. */
  readonly rack?: string;
}

export interface DecodedSubscription extends SubscriptionInfo {
  /** The layout the bytes were written in. */
  readonly version: number;
  /** The newest version the sender can read; the leader negotiates with it. */
  readonly latestSupportedVersion: number;
  readonly taskLags: ReadonlyMap<string, number>;
}

/** The `errorCode` byte of an assignment; the index in this list is the wire value. */
export const ASSIGNMENT_ERROR_CODES = [
  'NONE',
  /** The leader could not see all source topics; members should retry the rebalance. */
  'INCOMPLETE_SOURCE_TOPIC_METADATA',
  /** The application asked every member to shut down. */
  'SHUTDOWN_REQUESTED',
  /**
   * A source topic's partition count is not the one the application started with (or co-partitioned sources no
   * longer match): every member stops. Version 3 and later; older versions carry `SHUTDOWN_REQUESTED` instead.
   */
  'SOURCE_TOPIC_PARTITIONS_CHANGED',
] as const;

export type AssignmentErrorCode = (typeof ASSIGNMENT_ERROR_CODES)[number];

/** The first version that carries each error code; a code absent here exists since version 1. */
const ERROR_CODE_SINCE: Partial<Record<AssignmentErrorCode, number>> = {
  SOURCE_TOPIC_PARTITIONS_CHANGED: 3,
};

/** What an assignment of `version` carries for `code`: the code itself, or the shutdown older readers know. */
function errorCodeFor(code: AssignmentErrorCode, version: number): AssignmentErrorCode {
  return version >= (ERROR_CODE_SINCE[code] ?? 1) ? code : 'SHUTDOWN_REQUESTED';
}

/** What the leader tells one member. */
export interface AssignmentInfo {
  readonly active: readonly string[];
  readonly standby: readonly string[];
  readonly warmup: readonly string[];
  /** endpoint → tasks, for query routing. Racks are carried from version 2 on. */
  readonly hostOf: ReadonlyMap<string, HostTasks>;
  readonly probingRebalanceNeeded: boolean;
  readonly errorCode: AssignmentErrorCode;
}

export interface DecodedAssignment extends AssignmentInfo {
  readonly version: number;
  readonly latestSupportedVersion: number;
}

export interface EncodeOptions {
  /** Layout to write; defaults to the latest. */
  readonly version?: number;
  /** The newest version the writer reads; defaults to the latest of this build. */
  readonly latestSupportedVersion?: number;
}

export interface DecodeOptions {
  /** The newest version the reader understands; defaults to the latest of this build. */
  readonly supportedVersion?: number;
}

const PROBING_FLAG = 0x01;

/**
 * Encodes a subscription. Layout (all versions): int16 version, int16 latestSupportedVersion,
 * string identity, 16-byte process id, varint n + n × (varint subtopology, varint partition,
 * varint lag), string endpoint ('' = none). Version 2 appends: string rack ('' = none). Version 3
 * has the layout of version 2.
 */
export function encodeSubscription(info: SubscriptionInfo, options: EncodeOptions = {}): Buffer {
  const { version, latestSupportedVersion } = writeVersions(options);
  const w = new ByteWriter();
  w.int16(version);
  w.int16(latestSupportedVersion);
  w.string(info.identity);
  w.bytes(uuidToBytes(info.processId));
  const entries = (
    info.taskLags instanceof Map ? [...info.taskLags.entries()] : Object.entries(info.taskLags)
  ) as [string, number][];
  entries.sort((a, b) => compareTaskIds(a[0], b[0]));
  w.varint(entries.length);
  for (const [id, lag] of entries) {
    const { subtopology, partition } = parseTaskId(id);
    w.varint(subtopology);
    w.varint(partition);
    w.varint(lag);
  }
  w.string(info.endpoint ?? '');
  if (version >= 2) w.string(info.rack ?? '');
  return w.toBuffer();
}

/**
 * Decodes a subscription of any version from the minimum up. Every version only appends fields, so a
 * subscription newer than `supportedVersion` is read as far as this reader understands it (the
 * leader may be older than the member); the rest is ignored. Malformed bytes → `ASSIGNOR_DECODE_FAILED`.
 */
export function decodeSubscription(bytes: Uint8Array, options: DecodeOptions = {}): DecodedSubscription {
  const supported = options.supportedVersion ?? LATEST_CODEC_VERSION;
  const r = new ByteReader(bytes);
  const { version, latestSupportedVersion } = readVersions(r);
  const layout = Math.min(version, supported);
  const identity = r.string('identity');
  const processId = bytesToUuid(r.bytes(16, 'process id'));
  const count = r.count('task lag count', 3);
  const taskLags = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const id = readTaskId(r);
    const lag = r.varint('lag');
    if (taskLags.has(id)) throw decodeFailed(`task ${id} appears twice`);
    taskLags.set(id, lag);
  }
  const endpoint = optionalString(r.string('endpoint'));
  const rack = layout >= 2 ? optionalString(r.string('rack')) : undefined;
  if (version <= supported) expectEnd(r);
  return {
    version,
    latestSupportedVersion,
    identity,
    processId,
    taskLags,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(rack === undefined ? {} : { rack }),
  };
}

/**
 * Encodes an assignment. Layout (all versions): int16 version, int16 latestSupportedVersion,
 * uint8 error code, uint8 flags (bit 0: probing rebalance needed), then the task lists active,
 * standby and warm-up (each varint n + n × (varint subtopology, varint partition)), then varint h +
 * h × (string endpoint, active list, standby list). Version 2 appends h × string rack ('' = none).
 * Version 3 has the layout of version 2 and adds error code 3 (`SOURCE_TOPIC_PARTITIONS_CHANGED`);
 * in an older version that code is written as `SHUTDOWN_REQUESTED`.
 */
export function encodeAssignment(info: AssignmentInfo, options: EncodeOptions = {}): Buffer {
  const { version, latestSupportedVersion } = writeVersions(options);
  const errorIndex = ASSIGNMENT_ERROR_CODES.indexOf(errorCodeFor(info.errorCode, version));
  if (errorIndex < 0)
    throw new AssignorError('ASSIGNOR_ENCODE_FAILED', `unknown error code ${info.errorCode}`);
  const w = new ByteWriter();
  w.int16(version);
  w.int16(latestSupportedVersion);
  w.uint8(errorIndex);
  w.uint8(info.probingRebalanceNeeded ? PROBING_FLAG : 0);
  writeTaskList(w, info.active);
  writeTaskList(w, info.standby);
  writeTaskList(w, info.warmup);
  const hosts = [...info.hostOf.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  w.varint(hosts.length);
  for (const [endpoint, tasks] of hosts) {
    w.string(endpoint);
    writeTaskList(w, tasks.active);
    writeTaskList(w, tasks.standby);
  }
  if (version >= 2) for (const [, tasks] of hosts) w.string(tasks.rack ?? '');
  return w.toBuffer();
}

/**
 * Decodes an assignment. The leader writes the version every member reads (see `negotiateVersion`),
 * so a newer one is a leader bug: `ASSIGNOR_UNSUPPORTED_VERSION`. Malformed → `ASSIGNOR_DECODE_FAILED`.
 */
export function decodeAssignment(bytes: Uint8Array, options: DecodeOptions = {}): DecodedAssignment {
  const supported = options.supportedVersion ?? LATEST_CODEC_VERSION;
  const r = new ByteReader(bytes);
  const { version, latestSupportedVersion } = readVersions(r);
  if (version > supported) {
    throw new AssignorError(
      'ASSIGNOR_UNSUPPORTED_VERSION',
      `assignment version ${version} is newer than the supported ${supported}`,
    );
  }
  const errorCode = ASSIGNMENT_ERROR_CODES[r.uint8('error code')];
  if (errorCode === undefined || errorCodeFor(errorCode, version) !== errorCode) {
    throw decodeFailed(`unknown assignment error code for version ${version}`);
  }
  const flags = r.uint8('flags');
  if ((flags & ~PROBING_FLAG) !== 0) throw decodeFailed(`unknown flags 0x${flags.toString(16)}`);
  const active = readTaskList(r, 'active');
  const standby = readTaskList(r, 'standby');
  const warmup = readTaskList(r, 'warmup');
  const hostCount = r.count('host count', 3);
  const hosts: [string, { active: string[]; standby: string[] }][] = [];
  for (let i = 0; i < hostCount; i++) {
    const endpoint = r.string('endpoint');
    hosts.push([
      endpoint,
      { active: readTaskList(r, 'host active'), standby: readTaskList(r, 'host standby') },
    ]);
  }
  const hostOf = new Map<string, HostTasks>();
  for (const [endpoint, tasks] of hosts) {
    if (hostOf.has(endpoint)) throw decodeFailed(`endpoint ${endpoint} appears twice`);
    const rack = version >= 2 ? optionalString(r.string('rack')) : undefined;
    hostOf.set(endpoint, rack === undefined ? tasks : { ...tasks, rack });
  }
  expectEnd(r);
  return {
    version,
    latestSupportedVersion,
    errorCode,
    probingRebalanceNeeded: (flags & PROBING_FLAG) !== 0,
    active,
    standby,
    warmup,
    hostOf,
  };
}

/**
 * The version the leader writes every assignment in: the lowest `latestSupportedVersion` among the
 * members, capped by the leader's own. Throws `ASSIGNOR_UNSUPPORTED_VERSION` below the minimum.
 */
export function negotiateVersion(
  memberVersions: Iterable<number>,
  ownVersion = LATEST_CODEC_VERSION,
): number {
  let version = ownVersion;
  for (const v of memberVersions) version = Math.min(version, v);
  if (!Number.isInteger(version) || version < MIN_CODEC_VERSION) {
    throw new AssignorError(
      'ASSIGNOR_UNSUPPORTED_VERSION',
      `a member supports only userData version ${version}; the oldest this build writes is ${MIN_CODEC_VERSION}`,
    );
  }
  return version;
}

export interface EncodedGroupAssignment {
  readonly version: number;
  /** memberId → assignment userData. */
  readonly userData: ReadonlyMap<string, Buffer>;
}

/**
 * Encodes the plan for every member, all in the negotiated version. `latestSupportedVersions` maps
 * every member id of the plan to the version from its subscription.
 */
export function encodeGroupAssignment(
  plan: AssignmentPlan,
  latestSupportedVersions: ReadonlyMap<string, number>,
  errorCode: AssignmentErrorCode = 'NONE',
): EncodedGroupAssignment {
  for (const memberId of plan.members.keys()) {
    if (!latestSupportedVersions.has(memberId)) {
      throw new AssignorError('ASSIGNOR_INVALID_INPUT', `no subscription version for member ${memberId}`);
    }
  }
  const version = negotiateVersion(latestSupportedVersions.values());
  const userData = new Map<string, Buffer>();
  for (const [memberId, own] of plan.members) {
    const info: AssignmentInfo = {
      ...own,
      hostOf: plan.hostOf,
      probingRebalanceNeeded: plan.probingRebalanceNeeded,
      errorCode,
    };
    userData.set(memberId, encodeAssignment(info, { version }));
  }
  return { version, userData };
}

function writeVersions(options: EncodeOptions): { version: number; latestSupportedVersion: number } {
  const version = options.version ?? LATEST_CODEC_VERSION;
  const latestSupportedVersion = options.latestSupportedVersion ?? LATEST_CODEC_VERSION;
  if (!Number.isInteger(version) || version < MIN_CODEC_VERSION || version > LATEST_CODEC_VERSION) {
    throw new AssignorError('ASSIGNOR_UNSUPPORTED_VERSION', `cannot write userData version ${version}`);
  }
  if (
    !Number.isInteger(latestSupportedVersion) ||
    latestSupportedVersion < version ||
    latestSupportedVersion > 0x7fff
  ) {
    throw new AssignorError(
      'ASSIGNOR_ENCODE_FAILED',
      `latestSupportedVersion ${latestSupportedVersion} < ${version}`,
    );
  }
  return { version, latestSupportedVersion };
}

function readVersions(r: ByteReader): { version: number; latestSupportedVersion: number } {
  const version = r.int16('version');
  const latestSupportedVersion = r.int16('latest supported version');
  if (version < MIN_CODEC_VERSION) throw decodeFailed(`version ${version} is not an Eddy userData version`);
  if (latestSupportedVersion < version) {
    throw decodeFailed(`latest supported version ${latestSupportedVersion} is below version ${version}`);
  }
  return { version, latestSupportedVersion };
}

function writeTaskList(w: ByteWriter, ids: readonly string[]): void {
  w.varint(ids.length);
  for (const id of ids) {
    const { subtopology, partition } = parseTaskId(id);
    w.varint(subtopology);
    w.varint(partition);
  }
}

function readTaskId(r: ByteReader): string {
  return formatTaskId(r.varint('subtopology'), r.varint('partition'));
}

function readTaskList(r: ByteReader, what: string): string[] {
  const count = r.count(`${what} count`, 2);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(readTaskId(r));
  return ids;
}

function optionalString(value: string): string | undefined {
  return value === '' ? undefined : value;
}

function expectEnd(r: ByteReader): void {
  if (r.remaining !== 0) throw decodeFailed(`${r.remaining} unexpected trailing byte(s)`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidToBytes(uuid: string): Uint8Array {
  if (!UUID.test(uuid)) throw new AssignorError('ASSIGNOR_ENCODE_FAILED', `process id ${uuid} is not a UUID`);
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function bytesToUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Decodes the assignment userData a member received from an Eddy leader. Missing or empty bytes (the group
 * does not run the `eddy` protocol) throw `ASSIGNOR_DECODE_FAILED`; see `decodeAssignment` for the rest.
 */
export function decodeOwnAssignment(userData: Uint8Array | null | undefined): DecodedAssignment {
  if (userData == null || userData.length === 0) {
    throw new AssignorError('ASSIGNOR_DECODE_FAILED', 'the assignment carries no Eddy userData');
  }
  return decodeAssignment(userData);
}
