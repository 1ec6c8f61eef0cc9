// The operations HTTP server of one instance: /metrics, /healthz, /readyz and interactive queries of its stores.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { StreamsError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MetricsUnavailable } from './aggregated-metrics.js';
import type { AppView } from './app-view.js';
import { errorAnswer, HttpError, jsonAnswer, type OpsAnswer } from './ops-answer.js';
import type { ResolvedHttpOptions } from './ops-options.js';
import { isForwarded, LocalStoreQueries, type StoreQueries } from './store-query-handler.js';

/** What the probes read of an app. */
export type ProbeView = Pick<AppView, 'state' | 'pendingTasks' | 'stuckForMs' | 'consumerLags'>;

/**
 * An app whose stores are queried elsewhere (a threaded app's are in its stream threads): its probes, and what
 * answers its store queries.
 */
export interface RemoteStoresView extends ProbeView {
  readonly stores: StoreQueries;
}

export class OpsServer {
  private server: Server | undefined;
  private readonly stores: StoreQueries;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedHttpOptions,
    private readonly view: AppView | RemoteStoresView,
    private readonly registry: Registry | undefined,
    private readonly logger: Logger,
  ) {
    this.stores = 'stores' in view ? view.stores : new LocalStoreQueries(options, view);
  }

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
    // close() came while it bound the port: it found no server listening yet.
    if (this.closing !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
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
    write(res, await this.answer(req));
  }

  private async answer(req: IncomingMessage): Promise<OpsAnswer> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      throw new HttpError(405, 'METHOD_NOT_ALLOWED', 'only GET is served');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/metrics') return this.metrics();
    if (url.pathname === '/healthz') return this.healthz();
    if (url.pathname === '/readyz') return this.readyz();
    // Sent here by another instance (forwarded, or redirected by it): answered here or not at all.
    if (url.pathname.startsWith('/stores/')) return this.stores.answer(url, isForwarded(req.headers, url));
    throw new HttpError(404, 'NOT_FOUND', `no route for ${url.pathname}`);
  }

  private async metrics(): Promise<OpsAnswer> {
    if (this.registry === undefined)
      throw new HttpError(404, 'METRICS_DISABLED', 'metrics are off (metrics: false)');
    let text: string;
    try {
      text = await this.registry.metrics();
    } catch (err) {
      // A threaded app whose stream thread did not answer: no partial counts (they would look like resets).
      if (err instanceof MetricsUnavailable) throw new HttpError(503, 'METRICS_UNAVAILABLE', err.message);
      throw err;
    }
    return { status: 200, headers: { 'content-type': this.registry.contentType }, body: text };
  }

  private healthz(): OpsAnswer {
    const state = this.view.state();
    const stuckForMs = this.view.stuckForMs();
    const failed = state === 'ERROR' || state === 'NOT_RUNNING';
    const stuck = stuckForMs > this.options.livenessTimeoutMs;
    const alive = !failed && !stuck;
    return jsonAnswer(alive ? 200 : 503, {
      alive,
      state,
      stuckForMs,
      ...(stuck ? { reason: `the processing loop has not moved for ${stuckForMs} ms` } : {}),
    });
  }

  private readyz(): OpsAnswer {
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
    return jsonAnswer(reasons.length === 0 ? 200 : 503, {
      ready: reasons.length === 0,
      state,
      restoringTasks,
      consumerLag,
      ...(reasons.length > 0 ? { reasons } : {}),
    });
  }

  private fail(res: ServerResponse, err: unknown): void {
    const answer = errorAnswer(err, this.logger);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    write(res, answer);
  }
}

function write(res: ServerResponse, answer: OpsAnswer): void {
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}
