// Blocking HTTP GET for the rare synchronous path that must ask the registry (a deserializer meeting a schema id it
// has not seen): a worker thread does the request while the caller waits on shared memory.
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';

const WORKER = `
const { workerData } = require('node:worker_threads');
const port = workerData.port;
port.on('message', async ({ url, headers, timeoutMs, signal }) => {
  let reply;
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    reply = { status: res.status, body: await res.text() };
  } catch (err) {
    reply = { error: String(err && err.message ? err.message : err) };
  }
  port.postMessage(reply);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
});
`;

export interface SyncResponse {
  status: number;
  body: string;
}

/** One worker, started on first use; `close()` ends it. */
export class SyncFetcher {
  private worker: Worker | undefined;
  private port: MessagePort | undefined;

  /** GETs `url`; throws when the request fails or takes longer than `timeoutMs`. */
  get(url: string, headers: Record<string, string>, timeoutMs: number): SyncResponse {
    if (this.port === undefined) {
      const { port1, port2 } = new MessageChannel();
      this.worker = new Worker(WORKER, { eval: true, workerData: { port: port2 }, transferList: [port2] });
      this.worker.unref();
      port1.unref();
      this.port = port1;
    }
    const signal = new Int32Array(new SharedArrayBuffer(4));
    this.port.postMessage({ url, headers, timeoutMs, signal });
    // The worker answers within timeoutMs (its own abort); the extra second covers its start.
    if (Atomics.wait(signal, 0, 0, timeoutMs + 1000) === 'timed-out') {
      this.close();
      throw new Error(`no answer from ${url} within ${timeoutMs} ms`);
    }
    const reply = receiveMessageOnPort(this.port)?.message as (SyncResponse & { error?: string }) | undefined;
    if (reply === undefined) throw new Error(`no answer from ${url}`);
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply;
  }

  close(): void {
    this.port?.close();
    void this.worker?.terminate();
    this.port = undefined;
    this.worker = undefined;
  }
}
