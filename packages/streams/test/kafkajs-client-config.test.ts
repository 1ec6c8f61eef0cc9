// The port's client options as kafkajs configuration: log level, retries, TLS and SASL.
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaConfigOf, retryFor } from '../src/kafka/kafkajs/client-config.js';
import type { ClientOptions } from '../src/kafka/port.js';

const base: ClientOptions = {
  clientId: 'app',
  brokers: ['k1:9093', 'k2:9093'],
  connectionTimeoutMs: 3_000,
  requestTimeoutMs: 30_000,
  retryBudgetMs: 30_000,
};

describe('kafkaConfigOf', () => {
  it('maps the connection options, with log level error and neither TLS nor SASL by default', () => {
    const config = kafkaConfigOf(base);
    expect(config).toMatchObject({
      clientId: 'app',
      brokers: ['k1:9093', 'k2:9093'],
      connectionTimeout: 3_000,
      requestTimeout: 30_000,
      logLevel: logLevel.ERROR,
      retry: retryFor(30_000),
    });
    expect(config).not.toHaveProperty('ssl');
    expect(config).not.toHaveProperty('sasl');
  });

  it('maps every log level', () => {
    expect(kafkaConfigOf({ ...base, logLevel: 'nothing' }).logLevel).toBe(logLevel.NOTHING);
    expect(kafkaConfigOf({ ...base, logLevel: 'warn' }).logLevel).toBe(logLevel.WARN);
    expect(kafkaConfigOf({ ...base, logLevel: 'info' }).logLevel).toBe(logLevel.INFO);
  });

  it('gives up connecting after roughly the retry budget', () => {
    const { initialRetryTime, maxRetryTime, retries } = retryFor(10_000);
    expect(initialRetryTime).toBe(200);
    expect(maxRetryTime).toBe(2_000);
    expect((retries ?? 0) * (maxRetryTime ?? 0)).toBeGreaterThanOrEqual(10_000);
    expect(retryFor(100).retries).toBe(1);
  });

  it('passes TLS options to node:tls and leaves out what was not given', () => {
    expect(kafkaConfigOf({ ...base, ssl: true }).ssl).toBe(true);
    expect(
      kafkaConfigOf({
        ...base,
        ssl: { ca: 'CA', cert: 'CERT', key: 'KEY', passphrase: 'pw', servername: 'kafka' },
      }).ssl,
    ).toEqual({ ca: 'CA', cert: 'CERT', key: 'KEY', passphrase: 'pw', servername: 'kafka' });
    expect(kafkaConfigOf({ ...base, ssl: { rejectUnauthorized: false } }).ssl).toEqual({
      rejectUnauthorized: false,
    });
  });

  it('maps user/password mechanisms as they are and OAUTHBEARER to a token provider', async () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      expect(kafkaConfigOf({ ...base, sasl: { mechanism, username: 'u', password: 'p' } }).sasl).toEqual({
        mechanism,
        username: 'u',
        password: 'p',
      });
    }
    let calls = 0;
    const sasl = kafkaConfigOf({
      ...base,
      sasl: { mechanism: 'oauthbearer', token: async () => ({ value: `token-${++calls}` }) },
    }).sasl;
    expect(sasl?.mechanism).toBe('oauthbearer');
    const provider = (sasl as { oauthBearerProvider: () => Promise<{ value: string }> }).oauthBearerProvider;
    // Called at every authentication, so a refreshed token is used on reconnect.
    expect(await provider()).toEqual({ value: 'token-1' });
    expect(await provider()).toEqual({ value: 'token-2' });
  });
});
