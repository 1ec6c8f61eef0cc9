// The operations HTTP server of one instance: /metrics, /healthz, /readyz and interactive queries of its stores.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorMessage, StreamsError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { AppView, KeyRoute } from './app-view.js';
import type { ResolvedHttpOptions } from './ops-options.js';
import { FORWARDED_HEADER, ForwardFailed, forwardQuery, REDIRECTED_PARAM } from './query-forwarder.js';
import {
  type JsonEntry,
  type KeyScan,
  kindOf,
  lookupKey,
  MAX_SCAN_ENTRIES,
  type QueryableKind,
  scanStore,
  type TimeRange,
  toJsonValue,
} from './store-queries.js';

const STORE_NAME = /^[A-Za-z0-9._-]{1,249}$/;
/** The longest key a URL may carry (characters, decoded). */
const MAX_KEY_LENGTH = 4_096;

/** An answer with a status and a JSON error body: `{ "error": { "code", "message" } }`. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class OpsServer {
  private server: Server | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedHttpOptions,
    private readonly view: AppView,
    private readonly registry: Registry | undefined,
    private readonly logger: Logger,
  ) {}

  /** The bound address once listening (with `port: 0`, the port the system chose). */
  get address(): { host: string; port: number } | undefined {
    const a = this.server?.address() as AddressInfo | null | undefined;
    return a ? { host: a.address, port: a.port } : undefined;
  }

  /** Starts listening; fails with INVALID_CONFIG naming `http.port` when the port cannot be bound. */
  async listen(): Promise<void> {
    if (this.server !== undefined || this.closing !== undefined) return;
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err) => this.fail(res, err));
    });
    // Plain HTTP/1.1 behind meshes and load balancers: idle connections close before a proxy reuses them dead.
    server.keepAliveTimeout = 5_000;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    this.server = server;
    const { port, host } = this.options;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          new StreamsError(
            'INVALID_CONFIG',
            `http.port ${port}${host === undefined ? '' : ` on http.host ${host}`} cannot be listened on: ${err.code ?? err.message}`,
            { cause: err },
          ),
        );
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    }).catch((err) => {
      this.server = undefined;
      throw err;
    });
    server.unref();
  }

  /** Stops listening and ends open connections; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const server = this.server;
      if (server === undefined || !server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    })();
    return this.closing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'only GET is served');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').slice(1);
    if (url.pathname === '/metrics') return this.metrics(res);
    if (url.pathname === '/healthz') return this.healthz(res);
    if (url.pathname === '/readyz') return this.readyz(res);
    if (parts[0] === 'stores' && parts.length >= 3) {
      const store = this.storeName(parts[1]!);
      // Sent here by another instance (forwarded, or redirected by it): answered here or not at all.
      const forwarded = req.headers[FORWARDED_HEADER] !== undefined || url.searchParams.has(REDIRECTED_PARAM);
      if (parts[2] === 'keys' && parts.length === 4) {
        return this.keyQuery(res, store, this.decodeKey(parts[3]!), url, forwarded);
      }
      if ((parts[2] === 'range' || parts[2] === 'all') && parts.length === 3) {
        return this.scanQuery(res, store, parts[2] === 'all', url, forwarded);
      }
    }
    throw new HttpError(404, 'NOT_FOUND', `no route for ${url.pathname}`);
  }

  private async metrics(res: ServerResponse): Promise<void> {
    if (this.registry === undefined)
      throw new HttpError(404, 'METRICS_DISABLED', 'metrics are off (metrics: false)');
    const text = await this.registry.metrics();
    res.writeHead(200, { 'content-type': this.registry.contentType });
    res.end(text);
  }

  private healthz(res: ServerResponse): void {
    const state = this.view.state();
    const stuckForMs = this.view.stuckForMs();
    const failed = state === 'ERROR' || state === 'NOT_RUNNING';
    const stuck = stuckForMs > this.options.livenessTimeoutMs;
    const alive = !failed && !stuck;
    json(res, alive ? 200 : 503, {
      alive,
      state,
      stuckForMs,
      ...(stuck ? { reason: `the processing loop has not moved for ${stuckForMs} ms` } : {}),
    });
  }

  private readyz(res: ServerResponse): void {
    const state = this.view.state();
    const restoringTasks = this.view.pendingTasks();
    let consumerLag = 0;
    let unknownLags = 0;
    for (const lag of this.view.consumerLags().values()) {
      if (lag === undefined) unknownLags++;
      else consumerLag += lag;
    }
    const reasons: string[] = [];
    if (state !== 'RUNNING') reasons.push(`the app is ${state}`);
    if (restoringTasks > 0) reasons.push(`${restoringTasks} task(s) opening or restoring their state`);
    const bounded = Number.isFinite(this.options.readyMaxLag);
    if (consumerLag > this.options.readyMaxLag) {
      reasons.push(`consumer lag ${consumerLag} is above http.readyMaxLag ${this.options.readyMaxLag}`);
    }
    // With a bound, a partition not fetched yet may be far behind: its lag cannot be shown to be within it.
    if (bounded && unknownLags > 0) {
      reasons.push(
        `the consumer lag of ${unknownLags} partition(s) is not known yet (no fetch), so http.readyMaxLag cannot be checked`,
      );
    }
    json(res, reasons.length === 0 ? 200 : 503, {
      ready: reasons.length === 0,
      state,
      restoringTasks,
      consumerLag,
      ...(reasons.length > 0 ? { reasons } : {}),
    });
  }

  private storeName(raw: string): string {
    const name = decodeSegment(raw, 'BAD_STORE_NAME', 'store name');
    if (!STORE_NAME.test(name) || !this.view.hasStore(name)) {
      throw new HttpError(
        404,
        'UNKNOWN_STORE',
        `the topology has no store ${JSON.stringify(name.slice(0, 256))}`,
      );
    }
    return name;
  }

  private decodeKey(raw: string): string {
    const key = decodeSegment(raw, 'BAD_KEY', 'key');
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new HttpError(400, 'BAD_KEY', `a key must have 1 to ${MAX_KEY_LENGTH} characters`);
    }
    return key;
  }

  private parseKey(store: string, text: string, what = 'key'): unknown {
    const parse = this.options.stores[store]?.parseKey;
    if (parse === undefined) return text;
    try {
      return parse(text);
    } catch (err) {
      throw new HttpError(400, 'BAD_KEY', `the ${what} is not a key of store ${store}: ${errorMessage(err)}`);
    }
  }

  /** A key's bytes as the store's key serializer writes them (the order of key ranges); 400 when it cannot. */
  private keyBytes(store: string, key: unknown, what: string): Uint8Array {
    const serializer = this.view.keySerializer(store);
    let bytes: Uint8Array | null;
    try {
      bytes = serializer === undefined ? Buffer.from(String(key)) : serializer.serialize(key);
    } catch (err) {
      throw new HttpError(
        400,
        'BAD_KEY',
        `the ${what} cannot be serialized for store ${store}: ${errorMessage(err)}`,
      );
    }
    if (bytes === null) throw new HttpError(400, 'BAD_KEY', `the ${what} serializes to null`);
    return bytes;
  }

  /**
   * For a window store's key range: whether a key lies between the bounds (inclusive, either may be absent), in the
   * order of its serialized bytes, as a key-value store's range.
   */
  private keyRangeFilter(store: string, from: unknown, to: unknown): (key: unknown) => boolean {
    const low = from === undefined ? undefined : this.keyBytes(store, from, 'from key');
    const high = to === undefined ? undefined : this.keyBytes(store, to, 'to key');
    return (key) => {
      const bytes = this.keyBytes(store, key, 'key');
      return (
        (low === undefined || Buffer.compare(bytes, low) >= 0) &&
        (high === undefined || Buffer.compare(bytes, high) <= 0)
      );
    };
  }

  private requireRunning(): void {
    const state = this.view.state();
    if (state !== 'RUNNING') throw new HttpError(503, 'NOT_RUNNING', `the app is ${state}`);
  }

  private async keyQuery(
    res: ServerResponse,
    store: string,
    keyText: string,
    url: URL,
    forwarded: boolean,
  ): Promise<void> {
    this.requireRunning();
    const key = this.parseKey(store, keyText);
    const time = timeRange(url);
    const bytes = this.keyBytes(store, key, 'key');
    const route = this.view.route(store, bytes);
    if (route === undefined) throw new HttpError(503, 'NO_ASSIGNMENT', 'the app has no assignment yet');
    const active = route.active;
    // A task the latest assignment gave to another instance may still run here until it is handed over; its store
    // then lags behind the new owner's, so only the owner the assignment names answers.
    const local = this.ownsHere(active) ? this.view.localStore(route.taskId, store, false) : undefined;
    if (local !== undefined) return this.answerKey(res, store, local, key, time, route, false);
    if (forwarded || active === undefined || active === this.view.endpoint) {
      // Never sent on twice: the instance that sent it here believed this one owns the task.
      const why =
        active === undefined
          ? `no instance runs task ${route.taskId} right now`
          : active === this.view.endpoint
            ? `task ${route.taskId} is not ready here (restoring or moving)`
            : `task ${route.taskId} was sent here by an instance that names this one its owner, while this one's ` +
              `assignment names ${active} (their views differ during a rebalance): try again`;
      return this.standbyOr(res, store, key, time, route, new HttpError(503, 'NOT_AVAILABLE', why));
    }
    const path = `${url.pathname}${url.search}`;
    if (this.options.queryRouting === 'redirect') {
      const location = new URL(path, `http://${active}`);
      location.searchParams.set(REDIRECTED_PARAM, '1');
      res.writeHead(307, { location: location.href, 'content-type': 'application/json' });
      res.end(JSON.stringify({ redirect: location.href, task: route.taskId }));
      return;
    }
    try {
      const answer = await forwardQuery(
        active,
        path,
        this.options.forwardTimeoutMs,
        this.view.endpoint ?? '',
      );
      if (answer.status === 503 && this.canReadStandby(route, store)) {
        return this.standbyOr(res, store, key, time, route, new HttpError(503, 'NOT_AVAILABLE', ''));
      }
      res.writeHead(answer.status, { 'content-type': answer.contentType });
      res.end(answer.body);
    } catch (err) {
      if (!(err instanceof ForwardFailed)) throw err;
      const failure =
        err.reason === 'timeout'
          ? new HttpError(504, 'OWNER_TIMEOUT', err.message)
          : new HttpError(503, 'OWNER_UNREACHABLE', err.message);
      return this.standbyOr(res, store, key, time, route, failure);
    }
  }

  /** Whether this instance is the active owner the assignment names (or no owner is named, or none is announced). */
  private ownsHere(active: string | undefined): boolean {
    return active === undefined || this.view.endpoint === undefined || active === this.view.endpoint;
  }

  private canReadStandby(route: KeyRoute, store: string): boolean {
    return this.options.standbyReads && this.view.localStore(route.taskId, store, true) !== undefined;
  }

  /** Answers from a standby replica here when standby reads are on (marked stale); otherwise with `failure`. */
  private async standbyOr(
    res: ServerResponse,
    store: string,
    key: unknown,
    time: TimeRange,
    route: KeyRoute,
    failure: HttpError,
  ): Promise<void> {
    const replica = this.options.standbyReads ? this.view.localStore(route.taskId, store, true) : undefined;
    if (replica === undefined) throw failure;
    return this.answerKey(res, store, replica, key, time, route, true);
  }

  private async answerKey(
    res: ServerResponse,
    store: string,
    local: unknown,
    key: unknown,
    time: TimeRange,
    route: KeyRoute,
    stale: boolean,
  ): Promise<void> {
    const kind = queryable(store, local);
    const answer = await lookupKey(local, kind, key, time);
    const where = { store, task: route.taskId, ...(stale ? { stale: true } : {}) };
    if (!answer.found) throw new HttpError(404, 'KEY_NOT_FOUND', `store ${store} has no value for the key`);
    json(
      res,
      200,
      kind === 'key-value'
        ? { ...where, key: toJsonValue(key), value: answer.value }
        : { ...where, key: toJsonValue(key), windows: answer.windows },
      stale,
    );
  }

  private async scanQuery(
    res: ServerResponse,
    store: string,
    all: boolean,
    url: URL,
    forwarded: boolean,
  ): Promise<void> {
    this.requireRunning();
    const from = url.searchParams.get('from');
    const to = url.searchParams.get('to');
    const scan: KeyScan = {
      all,
      time: timeRange(url),
      ...(all || from === null ? {} : { from: this.parseKey(store, from, 'from key') }),
      ...(all || to === null ? {} : { to: this.parseKey(store, to, 'to key') }),
    };
    const entries: JsonEntry[] = [];
    let truncated = false;
    for (const task of this.view.activeTasksWith(store)) {
      if (!this.ownsHere(this.view.activeEndpointOf(task))) continue; // (the new owner answers for it)
      const local = this.view.localStore(task, store, false);
      if (local === undefined) continue;
      const kind = queryable(store, local);
      if (kind === 'window' && !all && scan.inRange === undefined) {
        scan.inRange = this.keyRangeFilter(store, scan.from, scan.to);
      }
      entries.push(...(await scanStore(local, kind, scan, MAX_SCAN_ENTRIES - entries.length)));
      if (entries.length >= MAX_SCAN_ENTRIES) truncated = true;
    }
    if (!forwarded) {
      // Every other instance answers for its own tasks; a query it got from here is never sent on.
      const others = this.view.otherEndpoints();
      const answers = await Promise.all(
        others.map((endpoint) =>
          forwardQuery(
            endpoint,
            `${url.pathname}${url.search}`,
            this.options.forwardTimeoutMs,
            this.view.endpoint ?? '',
          )
            .then((a) => ({ endpoint, a }))
            .catch((err: unknown) => {
              if (err instanceof ForwardFailed && err.reason === 'timeout') {
                throw new HttpError(504, 'OWNER_TIMEOUT', err.message);
              }
              throw new HttpError(503, 'OWNER_UNREACHABLE', errorMessage(err));
            }),
        ),
      );
      for (const { endpoint, a } of answers) {
        if (a.status !== 200) {
          throw new HttpError(
            503,
            'OWNER_UNAVAILABLE',
            `${endpoint} answered ${a.status}: ${a.body.toString().slice(0, 200)}`,
          );
        }
        const body = JSON.parse(a.body.toString()) as { entries: JsonEntry[]; truncated?: boolean };
        entries.push(...body.entries);
        if (body.truncated) truncated = true;
      }
    }
    json(res, 200, { store, entries, ...(truncated ? { truncated: true } : {}) });
  }

  private fail(res: ServerResponse, err: unknown): void {
    const e = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL', errorMessage(err));
    if (e.status >= 500 && !(err instanceof HttpError)) {
      this.logger.warn('an HTTP request failed', { error: errorMessage(err) });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    json(res, e.status, { error: { code: e.code, message: e.message } });
  }
}

/** A percent-decoded path segment; 400 with `code` when its encoding is malformed. */
function decodeSegment(raw: string, code: string, what: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, code, `the ${what} is not valid percent-encoding`);
  }
}

function queryable(store: string, local: unknown): QueryableKind {
  const kind = kindOf(local);
  if (kind === undefined) {
    throw new HttpError(400, 'UNSUPPORTED_QUERY', `store ${store} is neither a key-value nor a window store`);
  }
  return kind;
}

/** `from`/`to` of window queries, epoch ms; default all of time. */
function timeRange(url: URL): TimeRange {
  const read = (name: string, fallback: number): number => {
    const text = url.searchParams.get(name);
    if (text === null) return fallback;
    const n = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(n)) {
      throw new HttpError(
        400,
        'BAD_TIME',
        `${name} must be epoch milliseconds, got ${JSON.stringify(text.slice(0, 64))}`,
      );
    }
    return n;
  };
  const range = { from: read('timeFrom', 0), to: read('timeTo', Number.MAX_SAFE_INTEGER) };
  if (range.from > range.to) {
    throw new HttpError(400, 'BAD_TIME', `timeFrom ${range.from} is after timeTo ${range.to}`);
  }
  return range;
}

function json(res: ServerResponse, status: number, body: unknown, stale = false): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...(stale ? { 'eddy-stale': 'true' } : {}),
  });
  res.end(JSON.stringify(body));
}
