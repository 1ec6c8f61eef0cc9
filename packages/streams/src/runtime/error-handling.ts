// What happens to a record that fails: fail the app, log and skip it, or send it to a dead-letter topic.
import type { RecordPosition, StreamsError } from '../errors.js';
import type { ConsumedRecord, OutgoingRecord } from '../kafka/port.js';

/**
 * - `fail` (default): stop the app with the typed error; the failing record is not committed.
 * - `log-and-continue`: log the error and skip the record.
 * - `{ deadLetterTopic }`: write the record's original key, value and headers to that topic, with headers
 *   that say what failed and where, and skip it.
 */
export type ErrorMode = 'fail' | 'log-and-continue' | { deadLetterTopic: string };

/** Header names on dead-letter records. */
export const DEAD_LETTER_HEADERS = {
  errorClass: 'eddy.error.class',
  errorCode: 'eddy.error.code',
  errorMessage: 'eddy.error.message',
  topic: 'eddy.source.topic',
  partition: 'eddy.source.partition',
  offset: 'eddy.source.offset',
} as const;

export function isErrorMode(mode: unknown): mode is ErrorMode {
  if (mode === 'fail' || mode === 'log-and-continue') return true;
  return (
    typeof mode === 'object' &&
    mode !== null &&
    typeof (mode as { deadLetterTopic?: unknown }).deadLetterTopic === 'string' &&
    (mode as { deadLetterTopic: string }).deadLetterTopic.length > 0
  );
}

export function deadLetterTopicOf(mode: ErrorMode): string | undefined {
  return typeof mode === 'object' ? mode.deadLetterTopic : undefined;
}

/** The dead letter for `record`: its original bytes and headers, plus what failed and where. */
export function deadLetter(
  topic: string,
  record: ConsumedRecord,
  position: RecordPosition,
  error: StreamsError,
): OutgoingRecord {
  const cause = error.cause instanceof Error ? error.cause : error;
  return {
    topic,
    key: record.key,
    value: record.value,
    timestamp: record.timestamp,
    headers: {
      ...record.headers,
      [DEAD_LETTER_HEADERS.errorClass]: Buffer.from(cause.constructor.name),
      [DEAD_LETTER_HEADERS.errorCode]: Buffer.from(error.code),
      [DEAD_LETTER_HEADERS.errorMessage]: Buffer.from(error.message),
      [DEAD_LETTER_HEADERS.topic]: Buffer.from(position.topic),
      [DEAD_LETTER_HEADERS.partition]: Buffer.from(String(position.partition)),
      [DEAD_LETTER_HEADERS.offset]: Buffer.from(position.offset),
    },
  };
}
