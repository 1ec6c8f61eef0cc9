// The port's client options as @platformatic/kafka base options: brokers, timeouts, retries, TLS and SASL.

import type { ConnectionOptions } from 'node:tls';
import type { ClientOptions, SaslOptions, TlsOptions } from '../port.js';
import type { Platformatic } from './library.js';

/** The library waits this long between two attempts of a request (its `retryDelay`). */
const RETRY_DELAY_MS = 250;

export function baseOptionsOf(options: ClientOptions): Platformatic.BaseOptions {
  const tls = options.ssl === undefined || options.ssl === false ? undefined : tlsOf(options.ssl);
  return {
    clientId: options.clientId,
    bootstrapBrokers: options.brokers,
    connectTimeout: options.connectionTimeoutMs,
    requestTimeout: options.requestTimeoutMs,
    timeout: options.requestTimeoutMs,
    retries: Math.max(1, Math.ceil(options.retryBudgetMs / RETRY_DELAY_MS)),
    retryDelay: RETRY_DELAY_MS,
    metadataMaxAge: options.metadataMaxAgeMs ?? 300_000,
    autocreateTopics: false,
    ...(tls === undefined ? {} : { tls }),
    ...(options.sasl === undefined ? {} : { sasl: saslOf(options.sasl) }),
  };
}

/** Node's TLS options; `true` means the system's trusted roots. */
function tlsOf(ssl: true | TlsOptions): ConnectionOptions {
  if (ssl === true) return {};
  const out: ConnectionOptions = {};
  if (ssl.ca !== undefined) out.ca = ssl.ca;
  if (ssl.cert !== undefined) out.cert = ssl.cert;
  if (ssl.key !== undefined) out.key = ssl.key;
  if (ssl.passphrase !== undefined) out.passphrase = ssl.passphrase;
  if (ssl.rejectUnauthorized !== undefined) out.rejectUnauthorized = ssl.rejectUnauthorized;
  if (ssl.servername !== undefined) out.servername = ssl.servername;
  return out;
}

function saslOf(sasl: SaslOptions): Platformatic.SASLOptions {
  switch (sasl.mechanism) {
    case 'oauthbearer': {
      const token = sasl.token;
      return { mechanism: 'OAUTHBEARER', token: async () => (await token()).value };
    }
    case 'plain':
      return { mechanism: 'PLAIN', username: sasl.username, password: sasl.password };
    case 'scram-sha-256':
      return { mechanism: 'SCRAM-SHA-256', username: sasl.username, password: sasl.password };
    case 'scram-sha-512':
      return { mechanism: 'SCRAM-SHA-512', username: sasl.username, password: sasl.password };
  }
}
