// Checks the TLS handshake with the bootstrap brokers before kafkajs connects: kafkajs retries a refused handshake
// like a network error for the whole retry budget, so a bad certificate would otherwise fail start only after it.

import { isIP } from 'node:net';
import { type ConnectionOptions, connect } from 'node:tls';
import { StreamsError } from '../../errors.js';
import { isTlsHandshakeError } from './errors.js';

type Outcome = { handshake: 'ok' } | { handshake: 'refused'; error: Error } | { handshake: 'unknown' };

/** An ApiVersions v0 request: every listener answers it, before any SASL authentication. */
function apiVersionsRequest(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.alloc(10 + id.length);
  body.writeInt16BE(18, 0); // ApiVersions
  body.writeInt16BE(0, 2); // version
  body.writeInt32BE(1, 4); // correlation id
  body.writeInt16BE(id.length, 8);
  id.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}

/**
 * Connects to `broker` and sends one request. A broker that checks client certificates refuses one only after the
 * client's side of the handshake is done (TLS 1.3), so the outcome is known when the answer or the alert comes.
 */
function probe(
  broker: string,
  options: ConnectionOptions,
  clientId: string,
  timeoutMs: number,
): Promise<Outcome> {
  const at = broker.lastIndexOf(':');
  const host = broker.slice(0, at);
  const port = Number(broker.slice(at + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port, ...(isIP(host) === 0 ? { servername: host } : {}), ...options });
    const done = (outcome: Outcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done({ handshake: 'unknown' }), timeoutMs);
    socket.once('secureConnect', () => socket.write(apiVersionsRequest(clientId)));
    socket.once('data', () => done({ handshake: 'ok' }));
    socket.once('error', (error: Error & { code?: string }) =>
      done(isTlsHandshakeError(error.code) ? { handshake: 'refused', error } : { handshake: 'unknown' }),
    );
    socket.once('close', () => done({ handshake: 'unknown' }));
  });
}

/**
 * Resolves once a bootstrap broker completed a TLS handshake with these options, or none could be reached (the
 * client's own connect then reports that); rejects with AUTHENTICATION_FAILED when a broker refused the handshake.
 */
export async function checkTlsHandshake(
  brokers: string[],
  options: ConnectionOptions,
  clientId: string,
  timeoutMs: number,
): Promise<void> {
  for (const broker of brokers) {
    const outcome = await probe(broker, options, clientId, timeoutMs);
    if (outcome.handshake === 'ok') return;
    if (outcome.handshake === 'refused') {
      const code = (outcome.error as { code?: string }).code;
      throw new StreamsError(
        'AUTHENTICATION_FAILED',
        `the TLS handshake with broker ${broker} failed (${code}): ${outcome.error.message}`,
        { cause: outcome.error },
      );
    }
  }
}
