// A client of a Confluent-compatible schema registry: registration through @kafkajs/confluent-schema-registry, the
// reads the schema gate needs, and a blocking lookup of a schema by id for the deserializer's rare cache miss.
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { AvroError, messageOf } from './errors.js';
import { SyncFetcher } from './sync-fetch.js';

export interface RegistryOptions {
  /** The base URL of the Confluent-compatible API, e.g. `http://registry:8080/apis/ccompat/v7` for Apicurio. */
  url: string;
  /** HTTP basic authentication. */
  auth?: { username: string; password: string };
  /** Bound of each request; default 5000 ms. */
  timeoutMs?: number;
  /**
   * After a blocking lookup of a schema id finds the registry unreachable, further lookups fail at once for
   * `initialMs`, doubling up to `maxMs` while it stays so; the first lookup after the pause asks again. Default
   * `{ initialMs: 1000, maxMs: 30000 }`: a hanging registry holds up a record of an uncached id for at most
   * `timeoutMs` per pause rather than each record.
   */
  unreachableBackoff?: { initialMs?: number; maxMs?: number };
}

export interface RegisteredVersion {
  id: number;
  version: number;
  schema: string;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class RegistryClient {
  readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly client: SchemaRegistry;
  private readonly sync = new SyncFetcher();
  /** Schemas by id: an id's schema never changes, so each is fetched once per process. */
  private readonly schemas = new Map<number, string>();
  private readonly backoff: { initialMs: number; maxMs: number };
  /** While the registry is taken as unreachable by blocking lookups: until when, why, and the current pause. */
  private unreachable: { until: number; pauseMs: number; reason: string } | undefined;

  constructor(options: RegistryOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
    const initialMs = options.unreachableBackoff?.initialMs ?? 1000;
    const maxMs = options.unreachableBackoff?.maxMs ?? Math.max(30_000, initialMs);
    if (!(initialMs > 0 && maxMs >= initialMs)) {
      throw new AvroError(
        'INVALID_OPTIONS',
        `unreachableBackoff needs 0 < initialMs <= maxMs, got ${JSON.stringify(options.unreachableBackoff)}`,
      );
    }
    this.backoff = { initialMs, maxMs };
    this.headers = { Accept: CONTENT_TYPE };
    if (options.auth !== undefined) {
      const { username, password } = options.auth;
      this.headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    this.client = new SchemaRegistry({
      host: this.url,
      ...(options.auth === undefined ? {} : { auth: options.auth }),
      retry: { retries: 0 },
    });
  }

  /** The id and version of `schema` under `subject`, or undefined when it is not registered there. */
  async lookup(subject: string, schema: string): Promise<RegisteredVersion | undefined> {
    const found = await this.request('POST', `/subjects/${encodeURIComponent(subject)}`, { schema });
    return found === undefined ? undefined : (found as RegisteredVersion);
  }

  /** The subject's registered version numbers, ascending; empty for an unknown subject. */
  async versions(subject: string): Promise<number[]> {
    const v = await this.request('GET', `/subjects/${encodeURIComponent(subject)}/versions`);
    return v === undefined ? [] : (v as number[]).sort((a, b) => a - b);
  }

  async version(subject: string, version: number): Promise<RegisteredVersion> {
    const v = await this.request('GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`);
    if (v === undefined)
      throw new AvroError('REGISTRY_UNAVAILABLE', `version ${version} of ${subject} vanished`);
    return v as RegisteredVersion;
  }

  /** The subject's compatibility level as the registry reports it; undefined for an unknown subject. */
  async compatibility(subject: string): Promise<string | undefined> {
    const c = await this.request('GET', `/config/${encodeURIComponent(subject)}`);
    return (c as { compatibilityLevel?: string } | undefined)?.compatibilityLevel?.toUpperCase();
  }

  /**
   * Registers `schema` under `subject` and returns its id. A new subject gets `level` as its compatibility level.
   * Two instances registering the same schema at once may see a conflict: the schema is then looked up again.
   */
  async register(subject: string, schema: string, level: string): Promise<number> {
    const current = await this.compatibility(subject);
    try {
      const { id } = await this.client.register(
        { type: SchemaType.AVRO, schema },
        { subject, compatibility: (current ?? level) as never, updateConfig: current === undefined },
      );
      return id;
    } catch (err) {
      const found = await this.lookup(subject, schema);
      if (found !== undefined) return found.id;
      const status = (err as { status?: number }).status;
      if (status === 409) {
        throw new AvroError(
          'SCHEMA_INCOMPATIBLE',
          `the registry refused the schema under ${subject} as incompatible (HTTP 409): ${messageOf(err)}`,
          { cause: err },
        );
      }
      throw new AvroError(
        'REGISTRY_UNAVAILABLE',
        `registering a schema under ${subject} failed${status === undefined ? '' : ` (HTTP ${status})`}: ${messageOf(err)}`,
        { cause: err, ...(status === undefined ? {} : { status }) },
      );
    }
  }

  /**
   * The schema of `id` (cached); a blocking request on a miss. Throws UNKNOWN_SCHEMA_ID or REGISTRY_UNAVAILABLE, the
   * latter at once while a recent lookup found the registry unreachable (see `unreachableBackoff`).
   */
  schemaByIdSync(id: number): string {
    const cached = this.schemas.get(id);
    if (cached !== undefined) return cached;
    const down = this.unreachable;
    if (down !== undefined && Date.now() < down.until) {
      throw new AvroError(
        'REGISTRY_UNAVAILABLE',
        `schema id ${id} is not cached and the registry at ${this.url} is taken as unreachable for ` +
          `${down.until - Date.now()} ms more (not asked again meanwhile): ${down.reason}`,
      );
    }
    let res: { status: number; body: string };
    try {
      res = this.sync.get(`${this.url}/schemas/ids/${id}`, this.headers, this.timeoutMs);
    } catch (err) {
      this.markUnreachable(messageOf(err));
      throw new AvroError(
        'REGISTRY_UNAVAILABLE',
        `schema id ${id} is not cached and the registry at ${this.url} did not answer: ${messageOf(err)}`,
        { cause: err },
      );
    }
    if (res.status >= 500) this.markUnreachable(`it answered ${res.status}`);
    else this.unreachable = undefined;
    if (res.status === 404) throw new AvroError('UNKNOWN_SCHEMA_ID', `the registry knows no schema id ${id}`);
    if (res.status !== 200) {
      throw new AvroError(
        'REGISTRY_UNAVAILABLE',
        `the registry answered ${res.status} for schema id ${id}: ${res.body}`,
        { status: res.status },
      );
    }
    return this.remember(id, (JSON.parse(res.body) as { schema: string }).schema);
  }

  /** Starts (or lengthens) the pause of blocking lookups after one found the registry unreachable. */
  private markUnreachable(reason: string): void {
    const pauseMs = Math.min(
      this.unreachable === undefined ? this.backoff.initialMs : this.unreachable.pauseMs * 2,
      this.backoff.maxMs,
    );
    this.unreachable = { until: Date.now() + pauseMs, pauseMs, reason };
  }

  /** Records a schema known by id (from a version read at start), so that no request is needed for it. */
  remember(id: number, schema: string): string {
    this.schemas.set(id, schema);
    return schema;
  }

  /** Ends the worker of blocking lookups. Idempotent. */
  close(): void {
    this.sync.close();
  }

  /** A JSON request; resolves undefined on 404, throws REGISTRY_UNAVAILABLE on anything else that is not 2xx. */
  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? this.headers : { ...this.headers, 'Content-Type': CONTENT_TYPE },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Within the same timeout: a body that stops arriving is a registry that did not answer, too.
      text = await res.text();
    } catch (err) {
      throw new AvroError(
        'REGISTRY_UNAVAILABLE',
        `the registry at ${this.url} did not answer: ${messageOf(err)}`,
        {
          cause: err,
        },
      );
    }
    if (res.status === 404) return undefined;
    if (!res.ok) {
      throw new AvroError(
        'REGISTRY_UNAVAILABLE',
        `the registry answered ${res.status} to ${method} ${path}: ${text}`,
        { status: res.status },
      );
    }
    return JSON.parse(text);
  }
}
