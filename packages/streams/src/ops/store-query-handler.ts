// Interactive queries of an app's stores over HTTP (key lookups, key ranges, whole stores): answered from the
// stores of this instance, sent on to the instance that owns a key, or gathered from every instance for scans.
import { errorMessage } from '../errors.js';
import type { AppView, KeyRoute } from './app-view.js';
import { HttpError, jsonAnswer, type OpsAnswer } from './ops-answer.js';
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

/** What a store query asks, read from its path: `/stores/<store>/keys/<key>`, `/stores/<store>/range` or `/all`. */
export type StorePath =
  | { store: string; kind: 'key'; key: string }
  | { store: string; kind: 'range' | 'all' };

/**
 * The store query of a path (`/stores/...`), its store name and key decoded and checked (400 BAD_STORE_NAME or
 * BAD_KEY); 404 UNKNOWN_STORE for a store `hasStore` denies, 404 NOT_FOUND for a path of no query.
 */
export function storePathOf(url: URL, hasStore: (store: string) => boolean): StorePath {
  const parts = url.pathname.split('/').slice(1);
  if (parts[0] === 'stores' && parts.length >= 3) {
    if (parts[2] === 'keys' && parts.length === 4) {
      const store = storeName(parts[1]!, hasStore);
      return { store, kind: 'key', key: decodeKey(parts[3]!) };
    }
    if ((parts[2] === 'range' || parts[2] === 'all') && parts.length === 3) {
      return { store: storeName(parts[1]!, hasStore), kind: parts[2] };
    }
    // As the server did before: the store's name is checked first.
    storeName(parts[1]!, hasStore);
  }
  throw new HttpError(404, 'NOT_FOUND', `no route for ${url.pathname}`);
}

/** Whether a query came from another instance (forwarded, or redirected by it): answered here or not at all. */
export function isForwarded(headers: Record<string, string | string[] | undefined>, url: URL): boolean {
  return headers[FORWARDED_HEADER] !== undefined || url.searchParams.has(REDIRECTED_PARAM);
}

function storeName(raw: string, hasStore: (store: string) => boolean): string {
  const name = decodeSegment(raw, 'BAD_STORE_NAME', 'store name');
  if (!STORE_NAME.test(name) || !hasStore(name)) {
    throw new HttpError(
      404,
      'UNKNOWN_STORE',
      `the topology has no store ${JSON.stringify(name.slice(0, 256))}`,
    );
  }
  return name;
}

function decodeKey(raw: string): string {
  const key = decodeSegment(raw, 'BAD_KEY', 'key');
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new HttpError(400, 'BAD_KEY', `a key must have 1 to ${MAX_KEY_LENGTH} characters`);
  }
  return key;
}

/** Answers store queries: `answer` for a query's URL; throws HttpError for the failures it answers. */
export interface StoreQueries {
  answer(url: URL, forwarded: boolean): Promise<OpsAnswer>;
}

/** The store queries of one app (a one-thread app, or one stream thread), from its own stores. */
export class LocalStoreQueries implements StoreQueries {
  constructor(
    private readonly options: ResolvedHttpOptions,
    private readonly view: AppView,
  ) {}

  async answer(url: URL, forwarded: boolean): Promise<OpsAnswer> {
    const path = storePathOf(url, (store) => this.view.hasStore(store));
    if (path.kind === 'key') return this.keyQuery(path.store, path.key, url, forwarded);
    return this.scanQuery(path.store, path.kind === 'all', url, forwarded);
  }

  /** The route of a key query (`/stores/<store>/keys/<key>`): its task and owners, as the query would find them. */
  route(url: URL): KeyRoute {
    const path = storePathOf(url, (store) => this.view.hasStore(store));
    if (path.kind !== 'key') throw new HttpError(404, 'NOT_FOUND', `no key query: ${url.pathname}`);
    this.requireRunning();
    const key = this.parseKey(path.store, path.key);
    timeRange(url);
    const route = this.view.route(path.store, this.keyBytes(path.store, key, 'key'));
    if (route === undefined) throw new HttpError(503, 'NO_ASSIGNMENT', 'the app has no assignment yet');
    return route;
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

  private async keyQuery(store: string, keyText: string, url: URL, forwarded: boolean): Promise<OpsAnswer> {
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
    if (local !== undefined) return this.answerKey(store, local, key, time, route, false);
    if (forwarded || active === undefined || active === this.view.endpoint) {
      // Never sent on twice: the instance that sent it here believed this one owns the task.
      const why =
        active === undefined
          ? `no instance runs task ${route.taskId} right now`
          : active === this.view.endpoint
            ? `task ${route.taskId} is not ready here (restoring or moving)`
            : `task ${route.taskId} was sent here by an instance that names this one its owner, while this one's ` +
              `assignment names ${active} (their views differ during a rebalance): try again`;
      return this.standbyOr(store, key, time, route, new HttpError(503, 'NOT_AVAILABLE', why));
    }
    const path = `${url.pathname}${url.search}`;
    if (this.options.queryRouting === 'redirect') {
      const location = new URL(path, `http://${active}`);
      location.searchParams.set(REDIRECTED_PARAM, '1');
      return {
        status: 307,
        headers: { location: location.href, 'content-type': 'application/json' },
        body: JSON.stringify({ redirect: location.href, task: route.taskId }),
      };
    }
    try {
      const answer = await forwardQuery(
        active,
        path,
        this.options.forwardTimeoutMs,
        this.view.endpoint ?? '',
      );
      if (answer.status === 503 && this.canReadStandby(route, store)) {
        return this.standbyOr(store, key, time, route, new HttpError(503, 'NOT_AVAILABLE', ''));
      }
      return { status: answer.status, headers: { 'content-type': answer.contentType }, body: answer.body };
    } catch (err) {
      if (!(err instanceof ForwardFailed)) throw err;
      const failure =
        err.reason === 'timeout'
          ? new HttpError(504, 'OWNER_TIMEOUT', err.message)
          : new HttpError(503, 'OWNER_UNREACHABLE', err.message);
      return this.standbyOr(store, key, time, route, failure);
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
    store: string,
    key: unknown,
    time: TimeRange,
    route: KeyRoute,
    failure: HttpError,
  ): Promise<OpsAnswer> {
    const replica = this.options.standbyReads ? this.view.localStore(route.taskId, store, true) : undefined;
    if (replica === undefined) throw failure;
    return this.answerKey(store, replica, key, time, route, true);
  }

  private async answerKey(
    store: string,
    local: unknown,
    key: unknown,
    time: TimeRange,
    route: KeyRoute,
    stale: boolean,
  ): Promise<OpsAnswer> {
    const kind = queryable(store, local);
    const answer = await lookupKey(local, kind, key, time);
    const where = { store, task: route.taskId, ...(stale ? { stale: true } : {}) };
    if (!answer.found) throw new HttpError(404, 'KEY_NOT_FOUND', `store ${store} has no value for the key`);
    return jsonAnswer(
      200,
      kind === 'key-value'
        ? { ...where, key: toJsonValue(key), value: answer.value }
        : { ...where, key: toJsonValue(key), windows: answer.windows },
      stale,
    );
  }

  private async scanQuery(store: string, all: boolean, url: URL, forwarded: boolean): Promise<OpsAnswer> {
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
    return jsonAnswer(200, { store, entries, ...(truncated ? { truncated: true } : {}) });
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
