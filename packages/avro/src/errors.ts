// The one error class of @eddy/avro: stable codes, and the subject, versions and fields a refusal is about.

export const AVRO_ERROR_CODES = [
  /** The gate refused a schema: it is not compatible with the subject's registered versions under its level. */
  'SCHEMA_INCOMPATIBLE',
  /** The schema is not registered under its subject and the serde may not register it (`autoRegister: false`). */
  'SCHEMA_NOT_REGISTERED',
  /** A record names a schema id the registry does not know. */
  'UNKNOWN_SCHEMA_ID',
  /** The registry did not answer, or answered with an error other than "not found". */
  'REGISTRY_UNAVAILABLE',
  /** The bytes do not start with the Confluent wire format's magic byte 0. */
  'WRONG_MAGIC_BYTE',
  /** The bytes end before the schema id or the Avro body does, or carry bytes after the body. */
  'TRUNCATED',
  /** A value does not match the schema the serde writes. */
  'INVALID_RECORD',
  /** The serde was used before the app (or `prepare`) resolved its schema id. */
  'NOT_PREPARED',
  /** One serde instance would write different schema ids on two topics: give each topic a serde of its own. */
  'SERDE_SHARED',
  /** The serde's options are not usable. */
  'INVALID_OPTIONS',
] as const;

export type AvroErrorCode = (typeof AVRO_ERROR_CODES)[number];

/** What a refusal of the schema gate is about. */
export interface SchemaRefusal {
  subject: string;
  /** The compatibility level applied. */
  level: string;
  /** The registered versions the schema was checked against and failed. */
  versions: number[];
  /** The fields that make it incompatible, as paths with the reason (e.g. `Order.total: removed without default`). */
  fields: string[];
}

export class AvroError extends Error {
  readonly code: AvroErrorCode;
  readonly refusal: SchemaRefusal | undefined;
  /**
   * True when a later attempt may succeed: the registry did not answer, or answered with a server error (an app with
   * `retryBackoff` then retries its start). False for a refusal, and for a registry that denied access.
   */
  readonly transient: boolean;

  constructor(
    code: AvroErrorCode,
    message: string,
    options: { cause?: unknown; refusal?: SchemaRefusal; status?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AvroError';
    this.code = code;
    this.refusal = options.refusal;
    const status = options.status;
    this.transient =
      code === 'REGISTRY_UNAVAILABLE' &&
      (status === undefined || status >= 500 || status === 408 || status === 429);
  }
}

export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));
