// Task ids of the form `<subtopology>_<partition>`: parsing, formatting and a stable order.

import { AssignorError } from './errors.js';

const TASK_ID = /^(0|[1-9]\d*)_(0|[1-9]\d*)$/;

/** A task id split into its subtopology and partition numbers. */
export interface ParsedTaskId {
  readonly subtopology: number;
  readonly partition: number;
}

/** Parses a canonical `<subtopology>_<partition>` id, or returns undefined. */
export function tryParseTaskId(id: string): ParsedTaskId | undefined {
  const match = TASK_ID.exec(id);
  if (match === null) return undefined;
  const subtopology = Number(match[1]);
  const partition = Number(match[2]);
  if (!Number.isSafeInteger(subtopology) || !Number.isSafeInteger(partition)) return undefined;
  return { subtopology, partition };
}

/** Parses a canonical task id; throws `ASSIGNOR_ENCODE_FAILED` for anything else. */
export function parseTaskId(id: string): ParsedTaskId {
  const parsed = tryParseTaskId(id);
  if (parsed === undefined) {
    throw new AssignorError('ASSIGNOR_ENCODE_FAILED', `task id ${JSON.stringify(id)} is not <int>_<int>`);
  }
  return parsed;
}

/** The id of partition `partition` of subtopology `subtopology`. */
export function formatTaskId(subtopology: number, partition: number): string {
  return `${subtopology}_${partition}`;
}

/**
 * Orders task ids by subtopology then partition numerically ('0_2' before '0_10'); ids that are
 * not `<int>_<int>` come after those that are, in code-unit order.
 */
export function compareTaskIds(a: string, b: string): number {
  if (a === b) return 0;
  const pa = tryParseTaskId(a);
  const pb = tryParseTaskId(b);
  if (pa !== undefined && pb !== undefined) {
    return pa.subtopology - pb.subtopology || pa.partition - pb.partition;
  }
  if (pa !== undefined) return -1;
  if (pb !== undefined) return 1;
  return a < b ? -1 : 1;
}
