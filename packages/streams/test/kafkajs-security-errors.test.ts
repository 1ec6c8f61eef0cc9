// Which kafkajs failures the runtime stops on as AUTHENTICATION_FAILED or AUTHORIZATION_FAILED, however deeply
// kafkajs wraps them, and which it leaves alone.
import { describe, expect, it } from 'vitest';
import { StreamsError } from '../src/errors.js';
import { securityFailure } from '../src/kafka/kafkajs/errors.js';

/** Shaped like kafkajs' errors: a name, and the protocol type or Node code of what failed. */
function kafkajsError(name: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(`${name} failed`), { name, ...fields });
}

describe('securityFailure', () => {
  it.each([
    ['TOPIC_AUTHORIZATION_FAILED'],
    ['GROUP_AUTHORIZATION_FAILED'],
    ['CLUSTER_AUTHORIZATION_FAILED'],
    ['TRANSACTIONAL_ID_AUTHORIZATION_FAILED'],
  ])('a %s protocol error is AUTHORIZATION_FAILED, naming it', (type) => {
    const err = kafkajsError('KafkaJSProtocolError', { type, retriable: false });
    const failure = securityFailure(err);
    expect(failure?.code).toBe('AUTHORIZATION_FAILED');
    expect(failure?.message).toContain(type);
    expect(failure?.cause).toBe(err);
  });

  it('a SASL failure is AUTHENTICATION_FAILED', () => {
    expect(securityFailure(kafkajsError('KafkaJSSASLAuthenticationError', {}))?.code).toBe(
      'AUTHENTICATION_FAILED',
    );
    expect(
      securityFailure(kafkajsError('KafkaJSProtocolError', { type: 'SASL_AUTHENTICATION_FAILED' }))?.code,
    ).toBe('AUTHENTICATION_FAILED');
  });

  it.each([
    ['ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE'],
    ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'],
    ['SELF_SIGNED_CERT_IN_CHAIN'],
    ['ERR_TLS_CERT_ALTNAME_INVALID'],
  ])('a connection that failed its TLS handshake with %s is AUTHENTICATION_FAILED', (code) => {
    const failure = securityFailure(kafkajsError('KafkaJSConnectionError', { code }));
    expect(failure?.code).toBe('AUTHENTICATION_FAILED');
    expect(failure?.message).toContain(code);
  });

  it('finds the cause through retries, non-retriable wrappers, aggregates and the runtime’s own errors', () => {
    const denied = kafkajsError('KafkaJSProtocolError', { type: 'TOPIC_AUTHORIZATION_FAILED' });
    const tls = kafkajsError('KafkaJSConnectionError', { code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN' });
    const wrapped = [
      kafkajsError('KafkaJSNumberOfRetriesExceeded', { cause: tls }),
      kafkajsError('KafkaJSNonRetriableError', { originalError: denied }),
      kafkajsError('KafkaJSAggregateError', { errors: [new Error('other'), denied] }),
      new StreamsError('PRODUCE_FAILED', 'output could not be written', { cause: denied }),
    ];
    expect(wrapped.map((e) => securityFailure(e)?.code)).toEqual([
      'AUTHENTICATION_FAILED',
      'AUTHORIZATION_FAILED',
      'AUTHORIZATION_FAILED',
      'AUTHORIZATION_FAILED',
    ]);
    const already = new StreamsError('AUTHENTICATION_FAILED', 'handshake refused');
    expect(securityFailure(already)).toBe(already);
  });

  it('leaves every other failure alone', () => {
    const others = [
      kafkajsError('KafkaJSConnectionError', { code: 'ECONNREFUSED' }),
      kafkajsError('KafkaJSProtocolError', { type: 'NOT_LEADER_FOR_PARTITION' }),
      kafkajsError('KafkaJSGroupCoordinatorNotFound', {}),
      new StreamsError('TASK_MIGRATED', 'rebalanced'),
      'a string',
      undefined,
    ];
    expect(others.map((e) => securityFailure(e))).toEqual(others.map(() => undefined));
  });
});
