// Avro serdes in the Confluent wire format for topics and stores: synchronous on the hot path, with the schema id
// resolved at start by `prepare` (the schema gate) and writer schemas cached by id.
import type { SerdeUse } from '@eddy/streams';
import avro from 'avsc';
import { checkBody } from './body-bounds.js';
import { unreadable } from './compatibility.js';
import { AvroError, messageOf } from './errors.js';
import type { RegistryClient } from './registry.js';
import { type GateOptions, gate, learnVersions } from './schema-gate.js';
import { type SubjectNameStrategy, subjectName } from './subject.js';
import { frame, HEADER_BYTES, schemaIdOf } from './wire-format.js';

export interface AvroSerdeOptions extends GateOptions {
  registry: RegistryClient;
  /** The schema this app writes with, and reads into (a record of another version is resolved to it). */
  schema: avro.Schema | avro.Type;
  /** How subjects are named; default `topic` (`<topic>-key` / `<topic>-value`). */
  subjectNameStrategy?: SubjectNameStrategy;
}

const asBuffer = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Reads records written with any registered schema: by the writer's own schema, or resolved to the app's. */
type Reading = 'as-written' | 'resolved';

/**
 * An Avro serde for topics (null: absent key or tombstone) and stores (never null). `prepare` runs when the app
 * starts; until then `serialize` throws NOT_PREPARED.
 */
export class AvroSerde<T> {
  readonly type: avro.Type;
  private readonly strategy: SubjectNameStrategy;
  /** The id this serde writes with, once a writing use was prepared. */
  private writerId: number | undefined;
  /** By writer id: the type and resolver (undefined: the writer's own type) that decode its records. */
  private readonly readers = new Map<
    number,
    { type: avro.Type; resolver: avro.Resolver | undefined; writer: avro.Type }
  >();
  private scratch = Buffer.allocUnsafe(1024);

  constructor(
    private readonly options: AvroSerdeOptions,
    private readonly reading: Reading,
  ) {
    this.type = avro.Type.isType(options.schema)
      ? (options.schema as avro.Type)
      : avro.Type.forSchema(options.schema as avro.Schema);
    this.strategy = options.subjectNameStrategy ?? 'topic';
  }

  /** The schema id `serialize` writes, once prepared. */
  get schemaId(): number | undefined {
    return this.writerId;
  }

  async prepare(use: SerdeUse): Promise<void> {
    const { registry } = this.options;
    const subject = subjectName(this.strategy, use.topic, use.part, this.type);
    if (!use.writes) {
      await learnVersions(registry, use, subject);
      return;
    }
    const id = await gate(registry, use, subject, this.type, this.options);
    if (id === undefined) return;
    if (this.writerId !== undefined && this.writerId !== id) {
      throw new AvroError(
        'SERDE_SHARED',
        `this serde writes schema id ${this.writerId}, and ${subject} gave id ${id}: use one serde per topic`,
      );
    }
    this.writerId = id;
  }

  serialize(value: T): Buffer;
  serialize(value: T | null): Buffer | null;
  serialize(value: T | null): Buffer | null {
    if (value === null || value === undefined) return null;
    const id = this.writerId;
    if (id === undefined) {
      throw new AvroError(
        'NOT_PREPARED',
        'the Avro serde has no schema id yet: it is prepared when the app starts',
      );
    }
    let end: number;
    try {
      end = this.type.encode(value, this.scratch, HEADER_BYTES);
    } catch (err) {
      throw this.invalid(value, err);
    }
    if (end < 0) {
      // Too small for this record: grow once and frame a fresh encoding.
      this.scratch = Buffer.allocUnsafe(Math.max(this.scratch.length * 2, HEADER_BYTES - end));
      return frame(id, this.type.toBuffer(value));
    }
    const out = Buffer.allocUnsafe(end);
    this.scratch.copy(out, 0, 0, end);
    out.writeUInt8(0, 0);
    out.writeUInt32BE(id, 1);
    return out;
  }

  deserialize(bytes: Uint8Array): T;
  deserialize(bytes: Uint8Array | null): T | null;
  deserialize(bytes: Uint8Array | null): T | null {
    if (bytes === null) return null;
    const buf = asBuffer(bytes);
    const id = schemaIdOf(buf);
    const reader = this.readers.get(id) ?? this.readerFor(id);
    checkBody(reader.writer, buf, HEADER_BYTES);
    let decoded: { value: unknown; offset: number };
    try {
      decoded = reader.type.decode(buf, HEADER_BYTES, reader.resolver);
    } catch (err) {
      throw new AvroError(
        'TRUNCATED',
        `the Avro body of schema id ${id} does not decode: ${messageOf(err)}`,
        {
          cause: err,
        },
      );
    }
    if (decoded.offset < 0) {
      throw new AvroError(
        'TRUNCATED',
        `the Avro body of schema id ${id} ends early (${buf.length} bytes in all)`,
      );
    }
    if (decoded.offset !== buf.length) {
      throw new AvroError(
        'TRUNCATED',
        `${buf.length - decoded.offset} bytes follow the Avro body of schema id ${id}`,
      );
    }
    return decoded.value as T;
  }

  private readerFor(id: number): { type: avro.Type; resolver: avro.Resolver | undefined; writer: avro.Type } {
    const writer = avro.Type.forSchema(JSON.parse(this.options.registry.schemaByIdSync(id)));
    let reader: { type: avro.Type; resolver: avro.Resolver | undefined; writer: avro.Type };
    if (this.reading === 'as-written') {
      reader = { type: writer, resolver: undefined, writer };
    } else if (writer.equals(this.type)) {
      // The app's own schema: decoded directly, without a resolver's indirection.
      reader = { type: this.type, resolver: undefined, writer };
    } else {
      try {
        reader = { type: this.type, resolver: this.type.createResolver(writer), writer };
      } catch {
        const fields = unreadable(this.type, writer);
        throw new AvroError(
          'SCHEMA_INCOMPATIBLE',
          `records of schema id ${id} cannot be read with this serde's schema: ${fields.join('; ')}`,
        );
      }
    }
    this.readers.set(id, reader);
    return reader;
  }

  private invalid(value: unknown, cause: unknown): AvroError {
    const paths: string[] = [];
    this.type.isValid(value, { errorHook: (path: string[]) => paths.push(path.join('.') || '(root)') });
    return new AvroError(
      'INVALID_RECORD',
      `the value does not match schema ${this.type.name ?? this.type.typeName}${paths.length > 0 ? ` at ${paths.join(', ')}` : ''}: ${messageOf(cause)}`,
      { cause },
    );
  }
}

/** A record as written, with the writer's own schema (the generic serde's value). */
export type GenericRecord = Record<string, unknown>;

export const AvroSerdes = {
  /**
   * Typed records: written with `schema`; records written with another registered version are resolved to `schema`
   * (new fields take their defaults, removed ones are dropped). `T` is the record's TypeScript type.
   */
  specific: <T>(options: AvroSerdeOptions): AvroSerde<T> => new AvroSerde<T>(options, 'resolved'),
  /** Records as their writer wrote them, whatever version; written with `schema`. */
  generic: (options: AvroSerdeOptions): AvroSerde<GenericRecord> =>
    new AvroSerde<GenericRecord>(options, 'as-written'),
} as const;
