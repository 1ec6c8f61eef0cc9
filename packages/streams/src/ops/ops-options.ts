// The `metrics` and `http` options of a streams app, their defaults and their validation.
import { type Registry, register } from 'prom-client';
import { StreamsError } from '../errors.js';

export interface MetricsOptions {
  /** The prom-client registry to register the app's metrics on; default prom-client's default registry. */
  registry?: Registry;
}

/** How a store's keys are read from query URLs. */
export interface StoreQueryOptions {
  /**
   * Turns the key in the URL (decoded, a string) into the store's key; throw to answer 400. Default: the string
   * itself.
   */
  parseKey?: (key: string) => unknown;
}

export interface HttpOptions {
  /** The port to listen on (0: any free port; see `StreamsApp.httpAddress`). */
  port: number;
  /** The interface to listen on; default all of them. */
  host?: string;
  /**
   * A key query for a task another instance runs: `forward` (default) asks the owner and relays its answer;
   * `redirect` answers 307 with the owner's URL.
   */
  queryRouting?: 'forward' | 'redirect';
  /** How long a forwarded query may take before it is answered 504 (ms). Default 5000. */
  forwardTimeoutMs?: number;
  /**
   * Whether a key query may be answered from a standby replica on this instance when the active owner is not
   * reachable or unknown; such answers say `"stale": true`. Default false.
   */
  standbyReads?: boolean;
  /** `/readyz` says not ready while the consumer lag summed over this instance's partitions is above it. Default: no bound. */
  readyMaxLag?: number;
  /** `/healthz` fails once the processing loop has been stuck (one batch, or no tick) this long (ms). Default 120000. */
  livenessTimeoutMs?: number;
  /** Per store, how its keys are read from URLs; stores not listed take keys as strings. */
  stores?: Record<string, StoreQueryOptions>;
}

export interface ResolvedMetricsOptions {
  registry: Registry;
}

export interface ResolvedHttpOptions {
  port: number;
  host: string | undefined;
  queryRouting: 'forward' | 'redirect';
  forwardTimeoutMs: number;
  standbyReads: boolean;
  readyMaxLag: number;
  livenessTimeoutMs: number;
  stores: Readonly<Record<string, StoreQueryOptions>>;
}

function invalid(message: string): StreamsError {
  return new StreamsError('INVALID_CONFIG', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function millis(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(`${name} must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

/** Metrics are on with `metrics: true` or an object, and by default when the HTTP server is on. */
export function resolveMetricsOptions(metrics: unknown, http: unknown): ResolvedMetricsOptions | undefined {
  if (metrics === false || (metrics === undefined && http === undefined)) return undefined;
  if (metrics === true || metrics === undefined) return { registry: register };
  if (!isObject(metrics)) throw invalid('metrics must be true, false or { registry }');
  const registry = metrics.registry;
  if (registry === undefined) return { registry: register };
  if (
    !isObject(registry) ||
    typeof registry.registerMetric !== 'function' ||
    typeof registry.metrics !== 'function'
  ) {
    throw invalid('metrics.registry must be a prom-client Registry');
  }
  return { registry: registry as unknown as Registry };
}

export function resolveHttpOptions(http: unknown): ResolvedHttpOptions | undefined {
  if (http === undefined) return undefined;
  if (!isObject(http)) throw invalid('http must be an object with at least a port');
  const { port, host } = http;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65_535) {
    throw invalid(`http.port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw invalid(`http.host must be a non-empty string, got ${JSON.stringify(host)}`);
  }
  const routing = http.queryRouting ?? 'forward';
  if (routing !== 'forward' && routing !== 'redirect') {
    throw invalid(`http.queryRouting must be 'forward' or 'redirect', got ${JSON.stringify(routing)}`);
  }
  if (http.standbyReads !== undefined && typeof http.standbyReads !== 'boolean') {
    throw invalid('http.standbyReads must be a boolean');
  }
  const lag = http.readyMaxLag;
  if (lag !== undefined && (typeof lag !== 'number' || !Number.isSafeInteger(lag) || lag < 0)) {
    throw invalid(`http.readyMaxLag must be an integer >= 0, got ${String(lag)}`);
  }
  const stores = http.stores ?? {};
  if (!isObject(stores)) throw invalid('http.stores must be an object of store name → { parseKey }');
  for (const [name, options] of Object.entries(stores)) {
    if (!isObject(options) || (options.parseKey !== undefined && typeof options.parseKey !== 'function')) {
      throw invalid(`http.stores.${name}.parseKey must be a function of the key string`);
    }
  }
  return {
    port,
    host: host as string | undefined,
    queryRouting: routing,
    forwardTimeoutMs: millis('http.forwardTimeoutMs', http.forwardTimeoutMs, 5_000),
    standbyReads: http.standbyReads === true,
    readyMaxLag: (lag as number | undefined) ?? Number.POSITIVE_INFINITY,
    livenessTimeoutMs: millis('http.livenessTimeoutMs', http.livenessTimeoutMs, 120_000),
    stores: stores as Record<string, StoreQueryOptions>,
  };
}
