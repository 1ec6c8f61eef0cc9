import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config.js';
import { Serdes, StreamsApp, StreamsBuilder, type StreamsConfig, StreamsError } from '../src/index.js';
import { codeOf } from './error-codes.js';

function topology() {
  const b = new StreamsBuilder();
  b.stream('in', { keySerde: Serdes.string(), valueSerde: Serdes.string() }).to('out', {
    keySerde: Serdes.string(),
    valueSerde: Serdes.string(),
  });
  return b.build();
}

function configError(config: Partial<StreamsConfig>): StreamsError {
  try {
    new StreamsApp(topology(), {
      applicationId: 'app',
      brokers: ['127.0.0.1:9092'],
      ...config,
    } as StreamsConfig);
  } catch (err) {
    if (err instanceof StreamsError) return err;
    throw err;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('StreamsApp options', () => {
  it.each([
    [{ applicationId: '' }, 'applicationId'],
    [{ applicationId: 'has space' }, 'applicationId'],
    [{ brokers: [] }, 'brokers'],
    [{ brokers: ['localhost'] }, 'localhost'],
    [{ commitIntervalMs: 0 }, 'commitIntervalMs'],
    [{ commitIntervalMs: Number.NaN }, 'commitIntervalMs'],
    [{ heartbeatIntervalMs: 40_000 }, 'heartbeatIntervalMs'],
    [{ autoOffsetReset: 'middle' as never }, 'autoOffsetReset'],
    [{ maxTaskIdleMs: -2 }, 'maxTaskIdleMs'],
    [{ maxTaskIdleMs: 1.5 }, 'maxTaskIdleMs'],
    [{ maxTaskIdleMs: Number.POSITIVE_INFINITY }, 'maxTaskIdleMs'],
    [{ crashLoop: 'yes' as never }, 'crashLoop'],
    [{ retryBackoff: 5 as never }, 'retryBackoff'],
    [{ retryBackoff: { initialMs: 0 } }, 'retryBackoff.initialMs'],
    [{ retryBackoff: { initialMs: 500, maxMs: 100 } }, 'retryBackoff.maxMs'],
    [{ retryBackoff: { giveUpAfterMs: -1 } }, 'retryBackoff.giveUpAfterMs'],
    [{ crashLoop: { action: 'skip' as never } }, 'crashLoop.action'],
    [{ crashLoop: { action: 'dead-letter' as const } }, 'crashLoop.deadLetterTopic'],
    [{ crashLoop: { maxCrashes: 0 } }, 'crashLoop.maxCrashes'],
    [{ crashLoop: { restartBackoff: { initialMs: -1 } } }, 'crashLoop.restartBackoff.initialMs'],
    [{ crashLoop: { restartBackoff: { initialMs: 500, maxMs: 100 } } }, 'crashLoop.restartBackoff.maxMs'],
    [{ windowStoreChangelogAdditionalRetentionMs: -1 }, 'windowStoreChangelogAdditionalRetentionMs'],
    [{ windowStoreChangelogAdditionalRetentionMs: 0.5 }, 'windowStoreChangelogAdditionalRetentionMs'],
    [{ replicationFactor: 0 }, 'replicationFactor'],
    [{ replicationFactor: -2 }, 'replicationFactor'],
    [{ replicationFactor: 2.5 }, 'replicationFactor'],
    [{ replicationFactor: 32_768 }, 'replicationFactor'],
    [{ replicationFactor: '3' as never }, 'replicationFactor'],
    [{ fetchMaxBytes: 0 }, 'fetchMaxBytes'],
    [{ fetchMaxBytesPerPartition: 1.5 }, 'fetchMaxBytesPerPartition'],
    [{ storeCacheMaxBytes: -1 }, 'storeCacheMaxBytes'],
    [{ bufferedRecordsPerPartition: 0 }, 'bufferedRecordsPerPartition'],
  ])('rejects %o with INVALID_CONFIG naming the option', (bad, named) => {
    const err = configError(bad);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain(named);
  });

  it("a windowed store's changelog keeps records one day past the store's retention unless configured", () => {
    const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
    expect(resolveConfig(base).windowStoreChangelogAdditionalRetentionMs).toBe(86_400_000);
    expect(
      resolveConfig({ ...base, windowStoreChangelogAdditionalRetentionMs: 0 })
        .windowStoreChangelogAdditionalRetentionMs,
    ).toBe(0);
  });

  it('bounds fetches to 4 MiB (1 MiB per partition), buffers to 1000 records and caches to 10 MiB unless configured', () => {
    const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
    expect(resolveConfig(base)).toMatchObject({
      fetchMaxBytes: 4 * 1024 * 1024,
      fetchMaxBytesPerPartition: 1024 * 1024,
      bufferedRecordsPerPartition: 1000,
      storeCacheMaxBytes: 10 * 1024 * 1024,
    });
    const set = {
      fetchMaxBytes: 1_000_000,
      fetchMaxBytesPerPartition: 100_000,
      storeCacheMaxBytes: 2_000_000,
    };
    expect(resolveConfig({ ...base, ...set })).toMatchObject(set);
  });

  it("runs on kafkajs unless client is 'platformatic'", () => {
    const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
    expect(resolveConfig(base).client).toBe(process.env.EDDY_KAFKA_CLIENT || 'kafkajs');
    expect(resolveConfig({ ...base, client: 'platformatic' }).client).toBe('platformatic');
  });

  it('EDDY_KAFKA_CLIENT chooses the client of apps that name none, and is checked', () => {
    const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
    const before = process.env.EDDY_KAFKA_CLIENT;
    try {
      process.env.EDDY_KAFKA_CLIENT = 'platformatic';
      expect(resolveConfig(base).client).toBe('platformatic');
      expect(resolveConfig({ ...base, client: 'kafkajs' }).client).toBe('kafkajs');
      process.env.EDDY_KAFKA_CLIENT = 'librdkafka';
      expect(codeOf(() => resolveConfig(base))).toBe('INVALID_CONFIG');
    } finally {
      if (before === undefined) delete process.env.EDDY_KAFKA_CLIENT;
      else process.env.EDDY_KAFKA_CLIENT = before;
    }
  });

  it("internal topics take the broker's default replication factor unless configured", () => {
    const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
    expect(resolveConfig(base).replicationFactor).toBe(-1);
    expect(resolveConfig({ ...base, replicationFactor: -1 }).replicationFactor).toBe(-1);
    expect(resolveConfig({ ...base, replicationFactor: 3 }).replicationFactor).toBe(3);
  });

  it('maxTaskIdleMs defaults to 0 and takes -1 (never wait) and positive waits', () => {
    const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
    expect(resolveConfig(base).maxTaskIdleMs).toBe(0);
    expect(resolveConfig({ ...base, maxTaskIdleMs: -1 }).maxTaskIdleMs).toBe(-1);
    expect(resolveConfig({ ...base, maxTaskIdleMs: 500 }).maxTaskIdleMs).toBe(500);
  });

  it('crashLoop is off by default; true takes the defaults; dead-letter defaults to the processingErrors topic', () => {
    const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
    expect(resolveConfig(base).crashLoop).toBeUndefined();
    expect(resolveConfig({ ...base, crashLoop: true }).crashLoop).toEqual({
      maxCrashes: 3,
      action: 'fail',
      deadLetterTopic: undefined,
      restartBackoff: { initialMs: 1_000, maxMs: 60_000 },
      restartWindowMs: 600_000,
    });
    const dl = resolveConfig({
      ...base,
      processingErrors: { deadLetterTopic: 'dlq' },
      crashLoop: { action: 'dead-letter' },
    }).crashLoop;
    expect(dl?.deadLetterTopic).toBe('dlq');
  });

  it('retries an unreachable Kafka by default, within bounds; false turns it off', () => {
    const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
    const defaults = { initialMs: 500, maxMs: 30_000, giveUpAfterMs: 600_000 };
    expect(resolveConfig(base).retryBackoff).toEqual(defaults);
    expect(resolveConfig({ ...base, retryBackoff: true }).retryBackoff).toEqual(defaults);
    expect(resolveConfig({ ...base, retryBackoff: { maxMs: 5_000 } }).retryBackoff).toEqual({
      ...defaults,
      maxMs: 5_000,
    });
    expect(resolveConfig({ ...base, retryBackoff: false }).retryBackoff).toBeUndefined();
  });

  it('starts in CREATED and refuses a second start', async () => {
    const app = new StreamsApp(topology(), {
      applicationId: 'app',
      brokers: ['127.0.0.1:1'],
      startTimeoutMs: 500,
      retryBackoff: false,
      clientLogLevel: 'nothing',
    });
    expect(app.state).toBe('CREATED');
    await expect(app.start()).rejects.toMatchObject({ code: 'BROKER_UNREACHABLE' });
    await expect(app.start()).rejects.toMatchObject({ code: 'ILLEGAL_STATE' });
    await app.close();
    await app.close();
    expect(app.state).toBe('ERROR');
  });
});

describe('replica, probing and query options', () => {
  const app = (config: Partial<StreamsConfig>) =>
    new StreamsApp(topology(), { applicationId: 'app', brokers: ['127.0.0.1:9092'], ...config });

  it('default to no standbys, 10000 acceptable lag, 2 warm-ups, 60 s probing, 1 s polling, no endpoint or rack', () => {
    const config = resolveConfig({ applicationId: 'app', brokers: ['127.0.0.1:9092'] });
    expect(config).toMatchObject({
      numStandbyReplicas: 0,
      acceptableRecoveryLag: 10_000,
      maxWarmupReplicas: 2,
      probingRebalanceIntervalMs: 60_000,
      replicaPollIntervalMs: 1_000,
      applicationServer: undefined,
      rackId: undefined,
    });
  });

  it('keeps valid values', () => {
    const replicaOptions = {
      numStandbyReplicas: 2,
      acceptableRecoveryLag: 0,
      maxWarmupReplicas: 1,
      probingRebalanceIntervalMs: 500,
      replicaPollIntervalMs: 50,
      applicationServer: 'app-3.app.svc:7070',
      rackId: 'eu-west-1a',
    };
    const config = resolveConfig({ applicationId: 'app', brokers: ['127.0.0.1:9092'], ...replicaOptions });
    expect(config).toMatchObject(replicaOptions);
    expect(() => app({ numStandbyReplicas: 1, applicationServer: '127.0.0.1:7070' })).not.toThrow();
  });

  it.each([
    [{ numStandbyReplicas: -1 }, 'numStandbyReplicas'],
    [{ numStandbyReplicas: 1.5 }, 'numStandbyReplicas'],
    [{ numStandbyReplicas: Number.NaN }, 'numStandbyReplicas'],
    [{ numStandbyReplicas: '1' as never }, 'numStandbyReplicas'],
    [{ acceptableRecoveryLag: -1 }, 'acceptableRecoveryLag'],
    [{ acceptableRecoveryLag: 0.5 }, 'acceptableRecoveryLag'],
    [{ maxWarmupReplicas: 0 }, 'maxWarmupReplicas'],
    [{ maxWarmupReplicas: 2.5 }, 'maxWarmupReplicas'],
    [{ probingRebalanceIntervalMs: 0 }, 'probingRebalanceIntervalMs'],
    [{ replicaPollIntervalMs: -5 }, 'replicaPollIntervalMs'],
    [{ applicationServer: 'localhost' }, 'applicationServer'],
    [{ applicationServer: 'host:port' }, 'applicationServer'],
    [{ applicationServer: 'two words:7070' }, 'applicationServer'],
    [{ applicationServer: '' }, 'applicationServer'],
    [{ rackId: '' }, 'rackId'],
    [{ rackId: 7 as never }, 'rackId'],
  ])('rejects %o with INVALID_CONFIG naming the option', (bad, named) => {
    const err = configError(bad);
    expect(err.code).toBe('INVALID_CONFIG');
    expect(err.message).toContain(named);
  });
});

/** A self-signed certificate, its key (also encrypted with `fixture-pass`) and an unrelated key. */
const pem = (name: string) => readFileSync(new URL(`fixtures/tls/${name}.pem`, import.meta.url), 'utf8');
const CERT = pem('cert');
const KEY = pem('key');
const ENCRYPTED_KEY = pem('key-encrypted');
const OTHER_KEY = pem('other-key');

describe('client options: TLS, SASL, metadata age', () => {
  const base = { applicationId: 'app', brokers: ['127.0.0.1:9092'] };
  const token = async () => ({ value: 'jwt' });

  it('accepts TLS as true or as certificates, and every SASL mechanism', () => {
    expect(resolveConfig({ ...base, ssl: true }).ssl).toBe(true);
    const tls = {
      ca: [CERT, Buffer.from(CERT)],
      cert: Buffer.from(CERT),
      key: ENCRYPTED_KEY,
      passphrase: 'fixture-pass',
      rejectUnauthorized: false,
      servername: 'kafka.internal',
    };
    expect(resolveConfig({ ...base, ssl: tls }).ssl).toEqual(tls);
    expect(resolveConfig({ ...base, ssl: { ca: CERT, cert: CERT, key: KEY } }).ssl).toEqual({
      ca: CERT,
      cert: CERT,
      key: KEY,
    });
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      expect(resolveConfig({ ...base, sasl: { mechanism, username: 'u', password: 'p' } }).sasl).toEqual({
        mechanism,
        username: 'u',
        password: 'p',
      });
    }
    expect(resolveConfig({ ...base, sasl: { mechanism: 'oauthbearer', token } }).sasl).toEqual({
      mechanism: 'oauthbearer',
      token,
    });
  });

  it('defaults to no TLS, no SASL and Kafka’s 5 minute metadata age', () => {
    expect(resolveConfig(base)).toMatchObject({ ssl: undefined, sasl: undefined, metadataMaxAgeMs: 300_000 });
    expect(resolveConfig({ ...base, metadataMaxAgeMs: 1_000 }).metadataMaxAgeMs).toBe(1_000);
  });

  it.each([
    [{ ssl: 'yes' as never }, 'ssl'],
    [{ ssl: { ca: 42 } as never }, 'ssl.ca'],
    [{ ssl: { ca: [] } as never }, 'ssl.ca'],
    [{ ssl: { cert: 'c' } }, 'ssl.cert'],
    [{ ssl: { key: 'k' } }, 'ssl.key'],
    [{ ssl: { cert: 'c', key: 1 } as never }, 'ssl.key'],
    [{ ssl: { ca: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' } }, 'ssl.ca'],
    [{ ssl: { ca: [CERT, 'not a certificate'] } }, 'ssl.ca'],
    [{ ssl: { cert: CERT.slice(0, 200), key: KEY } }, 'ssl.cert'],
    [{ ssl: { cert: CERT, key: KEY.replace(/[A-Za-z]/g, 'A') } }, 'ssl.key'],
    [{ ssl: { cert: CERT, key: OTHER_KEY } }, 'ssl.key is not the private key'],
    [{ ssl: { cert: CERT, key: ENCRYPTED_KEY } }, 'ssl.passphrase is needed'],
    [{ ssl: { cert: CERT, key: ENCRYPTED_KEY, passphrase: 'wrong' } }, 'ssl.passphrase does not decrypt'],
    [{ ssl: { passphrase: '' } }, 'ssl.passphrase'],
    [{ ssl: { servername: 7 } as never }, 'ssl.servername'],
    [{ ssl: { rejectUnauthorized: 'no' } as never }, 'ssl.rejectUnauthorized'],
    [{ ssl: { verify: true } as never }, 'ssl.verify'],
    [{ sasl: 'plain' as never }, 'sasl'],
    [{ sasl: { mechanism: 'gssapi' } as never }, 'sasl.mechanism'],
    [{ sasl: { mechanism: 'plain', username: 'u' } as never }, 'sasl.password'],
    [{ sasl: { mechanism: 'scram-sha-512', username: '', password: 'p' } }, 'sasl.username'],
    [{ sasl: { mechanism: 'oauthbearer', token: 'jwt' } as never }, 'sasl.token'],
    [{ metadataMaxAgeMs: 0 }, 'metadataMaxAgeMs'],
    [{ clientLogLevel: 'debug' as never }, 'clientLogLevel'],
    [{ client: 'rdkafka' as never }, 'client'],
    [{ client: 'platformatic', clientLogLevel: 'warn' }, 'clientLogLevel'],
  ] as [Partial<StreamsConfig>, string][])(
    'rejects %o with INVALID_CONFIG naming the option',
    (bad, named) => {
      const err = configError(bad);
      expect(err.code).toBe('INVALID_CONFIG');
      expect(err.message).toContain(named);
    },
  );
});
