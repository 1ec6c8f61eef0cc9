// Subject naming strategies: which registry subject a schema is registered and checked under.
import type avro from 'avsc';
import { AvroError } from './errors.js';

/** `topic`: `<topic>-key|value`; `record`: the record's full name; `topic-record`: `<topic>-<full name>`. */
export type SubjectNameStrategy = 'topic' | 'record' | 'topic-record';

export function subjectName(
  strategy: SubjectNameStrategy,
  topic: string | undefined,
  part: 'key' | 'value',
  type: avro.Type,
): string {
  if (strategy === 'record') return recordName(type);
  if (topic === undefined) {
    throw new AvroError(
      'INVALID_OPTIONS',
      `the ${strategy} subject strategy needs a topic; a sink that picks its topic per record needs the record strategy`,
    );
  }
  return strategy === 'topic' ? `${topic}-${part}` : `${topic}-${recordName(type)}`;
}

function recordName(type: avro.Type): string {
  if (type.name === undefined) {
    throw new AvroError(
      'INVALID_OPTIONS',
      `the record subject strategies need a named schema, got ${type.typeName}`,
    );
  }
  return type.name;
}
