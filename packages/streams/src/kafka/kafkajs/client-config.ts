// The port's client options as a kafkajs configuration: retries, log level, TLS and SASL.

import type { ConnectionOptions } from 'node:tls';
import { type KafkaConfig, logLevel, type SASLOptions } from '#kafkajs';
import type { ClientLogLevel, ClientOptions, SaslOptions, TlsOptions } from '../port.js';

const LOG_LEVELS: Record<ClientLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
};

/** kafkajs randomizes each wait by up to this fraction either way (its default `factor`), then doubles it. */
const RETRY_JITTER = 0.2;

/**
 * Retry settings that make connecting give up no sooner than `budgetMs`: enough retries that even the shortest
 * waits kafkajs may draw (each 20% short, doubling from the first) add up to the budget, so a broker that refuses
 * connections at once does not fail a start early.
 */
export function retryFor(budgetMs: number): NonNullable<KafkaConfig['retry']> {
  const initialRetryTime = 200;
  const maxRetryTime = Math.min(2_000, Math.max(250, Math.floor(budgetMs / 4)));
  let retries = 0;
  let waited = 0;
  let wait = initialRetryTime * (1 - RETRY_JITTER);
  while (waited < budgetMs) {
    waited += wait;
    retries++;
    wait = Math.min(wait * (1 - RETRY_JITTER) * 2, maxRetryTime);
  }
  return { initialRetryTime, maxRetryTime, retries: Math.max(1, retries) };
}

export function tlsOf(ssl: boolean | TlsOptions): boolean | ConnectionOptions {
  if (typeof ssl === 'boolean') return ssl;
  const out: ConnectionOptions = {};
  if (ssl.ca !== undefined) out.ca = ssl.ca;
  if (ssl.cert !== undefined) out.cert = ssl.cert;
  if (ssl.key !== undefined) out.key = ssl.key;
  if (ssl.passphrase !== undefined) out.passphrase = ssl.passphrase;
  if (ssl.rejectUnauthorized !== undefined) out.rejectUnauthorized = ssl.rejectUnauthorized;
  if (ssl.servername !== undefined) out.servername = ssl.servername;
  return out;
}

export function saslOf(sasl: SaslOptions): SASLOptions {
  switch (sasl.mechanism) {
    case 'oauthbearer': {
      const token = sasl.token;
      return {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => ({ value: (await token()).value }),
      };
    }
    case 'plain':
      return { mechanism: 'plain', username: sasl.username, password: sasl.password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username: sasl.username, password: sasl.password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username: sasl.username, password: sasl.password };
  }
}

/** The `Kafka` configuration for `options`; `retry` is also what every client of it uses. */
export function kafkaConfigOf(
  options: ClientOptions,
): KafkaConfig & { retry: NonNullable<KafkaConfig['retry']> } {
  return {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    retry: retryFor(options.retryBudgetMs),
    logLevel: LOG_LEVELS[options.logLevel ?? 'error'],
    ...(options.ssl === undefined ? {} : { ssl: tlsOf(options.ssl) }),
    ...(options.sasl === undefined ? {} : { sasl: saslOf(options.sasl) }),
  };
}
