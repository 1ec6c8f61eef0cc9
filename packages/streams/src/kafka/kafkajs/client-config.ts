// The port's client options as a kafkajs configuration: retries, log level, TLS and SASL.

import type { ConnectionOptions } from 'node:tls';
import { type KafkaConfig, logLevel, type SASLOptions } from 'kafkajs';
import type { ClientLogLevel, ClientOptions, SaslOptions, TlsOptions } from '../port.js';

const LOG_LEVELS: Record<ClientLogLevel, logLevel> = {
  nothing: logLevel.NOTHING,
  error: logLevel.ERROR,
  warn: logLevel.WARN,
  info: logLevel.INFO,
};

/** Retry settings that make connecting give up after roughly `budgetMs`. */
export function retryFor(budgetMs: number): NonNullable<KafkaConfig['retry']> {
  const maxRetryTime = Math.min(2_000, Math.max(250, Math.floor(budgetMs / 4)));
  return {
    initialRetryTime: 200,
    maxRetryTime,
    retries: Math.max(1, Math.ceil(budgetMs / maxRetryTime)),
  };
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
