// Interactive queries of a threaded app: its stores live in its stream threads, so the main thread's operations
// server asks the thread that runs a key's task, and gathers scans from every thread.
import { HttpError, jsonAnswer, type OpsAnswer } from '../../ops/ops-answer.js';
import type { ResolvedHttpOptions } from '../../ops/ops-options.js';
import { type StoreQueries, storePathOf } from '../../ops/store-query-handler.js';
import type { TaskAssignment } from '../rebalance-handler.js';
import type { StreamsState } from '../streams-app.js';
import type { ThreadReply, ThreadRequest } from './thread-messages.js';

/** How much longer than `http.forwardTimeoutMs` the main thread waits for a thread's answer (ms). */
const THREAD_ANSWER_GRACE_MS = 1_000;

/** A request a stream thread did not answer: in time, or at all (its worker is gone). */
export class ThreadUnavailable extends Error {
  constructor(
    readonly reason: 'timeout' | 'gone',
    message: string,
  ) {
    super(message);
    this.name = 'ThreadUnavailable';
  }
}

/** A stream thread as the queries see it. */
export interface QueriedThread {
  readonly index: number;
  readonly assignment: TaskAssignment | undefined;
}

export interface ThreadQueryHost {
  state(): StreamsState;
  hasStore(store: string): boolean;
  /** The threads that answer requests (built, not closed), by index. */
  answering(): QueriedThread[];
  /** Sends `request` to `thread`; rejects with ThreadUnavailable without an answer within `timeoutMs`. */
  request(thread: QueriedThread, request: ThreadRequest, timeoutMs: number): Promise<ThreadReply>;
}

/**
 * A key query goes to the thread that runs the key's task as active (else, with `standbyReads`, to one with a
 * replica of it; else to the first thread, which sends it on to the owning instance or answers that it cannot),
 * once a thread has found the task; it answers as a one-thread app does. A scan asks every thread for its own
 * stores, and the first thread also for the other instances' (unless the query was itself forwarded), and joins
 * their entries.
 */
export class ThreadStoreQueries implements StoreQueries {
  constructor(
    private readonly host: ThreadQueryHost,
    private readonly options: ResolvedHttpOptions,
  ) {}

  async answer(url: URL, forwarded: boolean): Promise<OpsAnswer> {
    const path = storePathOf(url, (store) => this.host.hasStore(store));
    const state = this.host.state();
    const threads = this.host.answering();
    if (state !== 'RUNNING' || threads.length === 0) {
      throw new HttpError(503, 'NOT_RUNNING', `the app is ${state}`);
    }
    const target = `${url.pathname}${url.search}`;
    if (path.kind === 'key') {
      const routed = await this.ask(threads[0]!, { kind: 'route', path: target });
      if (routed.kind === 'answer') return routed.answer;
      if (routed.kind !== 'route') throw new Error(`a stream thread answered ${routed.kind} to a route`);
      const owner = this.threadOf(threads, routed.route.taskId) ?? threads[0]!;
      return this.answerOf(await this.ask(owner, { kind: 'query', path: target, forwarded }));
    }
    const replies = await Promise.all(
      threads.map((t, i) => this.ask(t, { kind: 'query', path: target, forwarded: forwarded || i > 0 })),
    );
    const entries: unknown[] = [];
    let truncated = false;
    for (const reply of replies) {
      const answer = this.answerOf(reply);
      if (answer.status !== 200) return answer;
      const body = JSON.parse(bodyText(answer.body)) as { entries: unknown[]; truncated?: boolean };
      entries.push(...body.entries);
      if (body.truncated) truncated = true;
    }
    return jsonAnswer(200, { store: path.store, entries, ...(truncated ? { truncated: true } : {}) });
  }

  /** The thread running task `taskId`: as active, or (standby reads) as a standby or warm-up replica. */
  private threadOf(threads: QueriedThread[], taskId: string): QueriedThread | undefined {
    const active = threads.find((t) => t.assignment?.active.includes(taskId));
    if (active !== undefined || !this.options.standbyReads) return active;
    return threads.find(
      (t) => t.assignment?.standby.includes(taskId) || t.assignment?.warmup.includes(taskId),
    );
  }

  private async ask(thread: QueriedThread, request: ThreadRequest): Promise<ThreadReply> {
    try {
      return await this.host.request(thread, request, this.options.forwardTimeoutMs + THREAD_ANSWER_GRACE_MS);
    } catch (err) {
      if (!(err instanceof ThreadUnavailable)) throw err;
      throw err.reason === 'timeout'
        ? new HttpError(504, 'THREAD_TIMEOUT', err.message)
        : new HttpError(503, 'THREAD_UNAVAILABLE', err.message);
    }
  }

  private answerOf(reply: ThreadReply): OpsAnswer {
    if (reply.kind !== 'answer') throw new Error(`a stream thread answered ${reply.kind} to a query`);
    return reply.answer;
  }
}

function bodyText(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body).toString();
}
