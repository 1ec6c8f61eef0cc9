// Sends an interactive query on to the instance that owns the key, with a deadline and the loop-guard header.
import { request } from 'node:http';

/** Marks a query one instance sent to another: its receiver answers from its own state and never sends it on. */
export const FORWARDED_HEADER = 'eddy-forwarded';

/**
 * The same mark for redirect mode, as a query parameter of the redirect's URL (a client following a redirect does
 * not resend our headers): an instance that gets a query with it never redirects it again.
 */
export const REDIRECTED_PARAM = 'eddy-redirected';

/** The largest answer relayed from another instance (bytes). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface ForwardedAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** Why a forward failed: the owner did not answer in time, or could not be reached. */
export class ForwardFailed extends Error {
  constructor(
    readonly reason: 'timeout' | 'unreachable',
    message: string,
  ) {
    super(message);
    this.name = 'ForwardFailed';
  }
}

/** GETs `path` from `endpoint` (`host:port`) within `timeoutMs`, saying which instance sent it. */
export function forwardQuery(
  endpoint: string,
  path: string,
  timeoutMs: number,
  from: string,
): Promise<ForwardedAnswer> {
  const at = endpoint.lastIndexOf(':');
  const host = endpoint.slice(0, at);
  const port = Number(endpoint.slice(at + 1));
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const req = request(
      { host, port, path, method: 'GET', headers: { [FORWARDED_HEADER]: from, accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            req.destroy();
            settle(() => reject(new ForwardFailed('unreachable', `the answer of ${endpoint} is too large`)));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () =>
          settle(() =>
            resolve({
              status: res.statusCode ?? 502,
              contentType: String(res.headers['content-type'] ?? 'application/json'),
              body: Buffer.concat(chunks),
            }),
          ),
        );
        res.on('error', (err) =>
          settle(() => reject(new ForwardFailed('unreachable', `${endpoint}: ${err.message}`))),
        );
      },
    );
    const timer = setTimeout(() => {
      settle(() => reject(new ForwardFailed('timeout', `${endpoint} did not answer within ${timeoutMs} ms`)));
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) =>
      settle(() => reject(new ForwardFailed('unreachable', `${endpoint}: ${err.message}`))),
    );
    req.end();
  });
}
