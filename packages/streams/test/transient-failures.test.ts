import { describe, expect, it } from 'vitest';
import { Serdes, StreamsApp, StreamsBuilder, StreamsError } from '../src/index.js';
import type { Logger } from '../src/logger.js';
import { isTransient } from '../src/runtime/transient-failures.js';

function kafkajsError(name: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(name), { name, ...fields });
}

describe('isTransient', () => {
  it('retries Kafka unreachable or slow, a moving coordinator, and commits or sends that lost the connection', () => {
    expect(isTransient(new StreamsError('BROKER_UNREACHABLE', 'start timed out'))).toBe(true);
    const retriesExceeded = kafkajsError('KafkaJSNumberOfRetriesExceeded', {
      originalError: kafkajsError('KafkaJSConnectionError', { code: 'ECONNREFUSED' }),
    });
    expect(isTransient(retriesExceeded)).toBe(true);
    expect(isTransient(kafkajsError('KafkaJSProtocolError', { type: 'NOT_COORDINATOR' }))).toBe(true);
    // kafkajs's names of a group coordinator that moved, is not available yet or is loading, under a commit
    for (const type of [
      'NOT_COORDINATOR_FOR_GROUP',
      'GROUP_COORDINATOR_NOT_AVAILABLE',
      'GROUP_LOAD_IN_PROGRESS',
    ]) {
      const cause = kafkajsError('KafkaJSProtocolError', { type });
      expect(isTransient(new StreamsError('COMMIT_FAILED', 'x', { cause })), type).toBe(true);
    }
    expect(
      isTransient(
        new StreamsError('COMMIT_FAILED', 'x', { cause: kafkajsError('KafkaJSRequestTimeoutError') }),
      ),
    ).toBe(true);
    expect(isTransient(new StreamsError('PRODUCE_FAILED', 'x', { cause: { code: 'ECONNRESET' } }))).toBe(
      true,
    );
    // A restore whose changelog read lost its connection; a full or broken state volume is not transient.
    const lostRead = kafkajsError('KafkaJSNumberOfRetriesExceeded', {
      originalError: kafkajsError('KafkaJSConnectionError', { code: 'ECONNRESET' }),
    });
    expect(isTransient(new StreamsError('STATE_FAILED', 'restore failed', { cause: lostRead }))).toBe(true);
    const full = Object.assign(new Error('IO error: No space left on device'), { code: 'LEVEL_IO_ERROR' });
    expect(isTransient(new StreamsError('STATE_FAILED', 'write failed', { cause: full }))).toBe(false);
  });

  it('does not retry configuration, topic, data or identity errors', () => {
    expect(isTransient(new StreamsError('TOPIC_MISSING', 'x'))).toBe(false);
    expect(isTransient(new StreamsError('PROCESSING_FAILED', 'x'))).toBe(false);
    expect(isTransient(new StreamsError('COMMIT_FAILED', 'x', { cause: new Error('bad') }))).toBe(false);
    const sasl = kafkajsError('KafkaJSSASLAuthenticationError');
    expect(isTransient(new StreamsError('BROKER_UNREACHABLE', 'x', { cause: sasl }))).toBe(false);
    const tls = kafkajsError('KafkaJSConnectionError', { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    expect(isTransient(tls)).toBe(false);
    expect(isTransient(new Error('anything else'))).toBe(false);
  });

  it("retries a serde that could not prepare only when the serde's error says it is transient", () => {
    const unanswered = Object.assign(new Error('registry did not answer'), { transient: true });
    expect(isTransient(new StreamsError('SERDE_PREPARE_FAILED', 'x', { cause: unanswered }))).toBe(true);
    const refused = Object.assign(new Error('incompatible'), { transient: false });
    expect(isTransient(new StreamsError('SERDE_PREPARE_FAILED', 'x', { cause: refused }))).toBe(false);
    expect(isTransient(new StreamsError('SERDE_PREPARE_FAILED', 'x', { cause: new Error('?') }))).toBe(false);
  });
});

function passThrough() {
  const b = new StreamsBuilder();
  b.stream('in', { keySerde: Serdes.string(), valueSerde: Serdes.string() }).to('out', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.string(),
  });
  return b.build();
}

describe('retryBackoff', () => {
  it('close() during the wait between attempts ends start with CLOSED_DURING_START', async () => {
    let retried: () => void = () => undefined;
    const retrying = new Promise<void>((resolve) => {
      retried = resolve;
    });
    const quiet = () => undefined;
    const app = new StreamsApp(passThrough(), {
      applicationId: 'retry-close',
      brokers: ['127.0.0.1:1'],
      startTimeoutMs: 300,
      connectionTimeoutMs: 100,
      clientLogLevel: 'nothing',
      retryBackoff: { initialMs: 60_000, maxMs: 60_000 },
      logger: { debug: quiet, info: quiet, error: quiet, warn: retried },
    });
    const started = app.start().catch((err: unknown) => err);
    await retrying;
    await app.close();
    expect((await started) as StreamsError).toMatchObject({ code: 'CLOSED_DURING_START' });
    expect(app.state).toBe('NOT_RUNNING');
  });

  it('retries an unreachable broker in-process, not ready, then gives up with BROKER_UNREACHABLE', async () => {
    const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
    const quiet = () => undefined;
    const logger: Logger = {
      debug: quiet,
      info: quiet,
      error: quiet,
      warn: (message, fields) => warnings.push({ message, ...(fields ? { fields } : {}) }),
    };
    const app = new StreamsApp(passThrough(), {
      applicationId: 'retry',
      brokers: ['127.0.0.1:1'],
      startTimeoutMs: 300,
      connectionTimeoutMs: 100,
      clientLogLevel: 'nothing',
      retryBackoff: { initialMs: 50, maxMs: 200, giveUpAfterMs: 2_000 },
      logger,
    });
    const states: string[] = [];
    app.onStateChange((s) => states.push(s));
    const error = await app.start().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(StreamsError);
    expect((error as StreamsError).code).toBe('BROKER_UNREACHABLE');
    const retries = warnings.filter((w) => w.message === 'Kafka is unreachable; trying again in-process');
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.map((r) => r.fields?.failures)).toEqual(retries.map((_, i) => i + 1));
    expect(states).toEqual(['REBALANCING', 'ERROR']);
  });
});
