// The port's client options as kafkajs configuration: log level, retries, TLS and SASL.

import { describe, expect, it } from 'vitest';
import { logLevel } from '#kafkajs';
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

  it('gives up connecting no sooner than the retry budget, and not much later', () => {
    // The waits kafkajs draws: the first is the initial time, each next one twice the last, each randomized by up
    // to 20% either way, capped at maxRetryTime.
    const waits = (budget: number, jitter: number) => {
      const { initialRetryTime = 0, maxRetryTime = 0, retries = 0 } = retryFor(budget);
      let total = 0;
      let wait = initialRetryTime * (1 + jitter);
      for (let i = 0; i < retries; i++) {
        total += wait;
        wait = Math.min(wait * (1 + jitter) * 2, maxRetryTime);
      }
      return total;
    };
    expect(retryFor(10_000)).toMatchObject({ initialRetryTime: 200, maxRetryTime: 2_000 });
    for (const budget of [100, 1_000, 3_000, 5_000, 10_000, 30_000, 120_000]) {
      expect(waits(budget, -0.2), `shortest for ${budget}`).toBeGreaterThanOrEqual(budget);
      // The longest waits overshoot by at most a third, and a few seconds for small budgets.
      expect(waits(budget, 0.2), `longest for ${budget}`).toBeLessThanOrEqual(budget * 1.35 + 2_000);
    }
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
