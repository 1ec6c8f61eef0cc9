// A minimal client of the local test cluster's API server: JSON requests and watches over HTTPS with a bearer token.
import { request } from 'node:https';

/** What the API server answered: the HTTP status and the parsed JSON body (undefined when empty or not JSON). */
export interface ApiResponse {
  status: number;
  body: unknown;
}

/** One event of a watch stream. */
export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  // biome-ignore lint/suspicious/noExplicitAny: objects of any kind; the checks read the fields they need.
  object: any;
}

export interface Watch {
  /** Every event seen so far, in the order the server sent them. */
  readonly events: WatchEvent[];
  close(): void;
}

export class Api {
  constructor(
    private readonly server: string,
    private readonly token: string,
  ) {}

  /** One request; rejects only when the server cannot be reached, not on an error status. */
  call(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<ApiResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        `${this.server}${path}`,
        {
          method,
          // The server's certificate is the self-signed one it made for itself on loopback.
          rejectUnauthorized: false,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': contentType }),
          },
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = text;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 30 s`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** The body of a GET that must succeed. */
  // biome-ignore lint/suspicious/noExplicitAny: see WatchEvent.
  async get(path: string): Promise<any> {
    const res = await this.call('GET', path);
    if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}: ${describe(res.body)}`);
    return res.body;
  }

  /** A JSON merge patch that must succeed. */
  async mergePatch(path: string, patch: unknown): Promise<void> {
    const res = await this.call('PATCH', path, patch, 'application/merge-patch+json');
    if (res.status !== 200) throw new Error(`PATCH ${path}: HTTP ${res.status}: ${describe(res.body)}`);
  }

  /** A JSON patch (RFC 6902) that must succeed. */
  async jsonPatch(path: string, ops: unknown[]): Promise<void> {
    const res = await this.call('PATCH', path, ops, 'application/json-patch+json');
    if (res.status !== 200) throw new Error(`PATCH ${path}: HTTP ${res.status}: ${describe(res.body)}`);
  }

  /** Watches a collection (path without query) and records its events until closed. */
  watch(path: string, resourceVersion?: string): Watch {
    const events: WatchEvent[] = [];
    const query = `?watch=1${resourceVersion === undefined ? '' : `&resourceVersion=${resourceVersion}`}`;
    let buffer = '';
    const req = request(`${this.server}${path}${query}`, {
      rejectUnauthorized: false,
      headers: { authorization: `Bearer ${this.token}`, accept: 'application/json' },
    });
    req.on('response', (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line !== '') events.push(JSON.parse(line) as WatchEvent);
        }
      });
      res.on('error', () => {});
    });
    req.on('error', () => {});
    req.end();
    return { events, close: () => req.destroy() };
  }
}

/** A status or error body in one line. */
export function describe(body: unknown): string {
  if (body !== null && typeof body === 'object' && 'message' in body) return String(body.message);
  return typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300);
}
