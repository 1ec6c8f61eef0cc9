// Eddy against a broker that authenticates and authorizes (its own, started here): an app counts exactly over
// mTLS and over SASL_SSL (SCRAM, PLAIN, OAUTHBEARER); a refused identity or a right the ACLs deny stops the app within seconds with a
// typed error, with nothing committed for its group.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type SaslOptions,
  StreamsApp,
  type StreamsConfig,
  type StreamsError,
  type TlsOptions,
} from '@eddy/streams';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wordCountTopology } from '../../examples/word-count/topology.js';
import { uniqueName, waitFor } from '../support/kafka.js';
import {
  grantApp,
  grantDescribe,
  harnessKafka,
  type Security,
  startSecureBroker,
  stopSecureBroker,
} from './secure-broker.js';

const KEYS = ['apple', 'pear', 'plum'];
const PER_KEY = 20;
/** A refused identity or right must end start (or the run) this fast: no retry loop over the 30 s start budget. */
const FAILS_WITHIN_MS = 10_000;

let security: Security;
let kafka: Kafka;
let admin: Admin;
const stateRoot = mkdtempSync(join(tmpdir(), 'eddy-security-'));
const apps: StreamsApp[] = [];

beforeAll(async () => {
  security = startSecureBroker();
  kafka = harnessKafka(security);
  admin = kafka.admin();
  await admin.connect();
}, 240_000);

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close().catch(() => undefined)));
  await admin?.disconnect();
  stopSecureBroker();
  rmSync(stateRoot, { recursive: true, force: true });
}, 60_000);

interface Topics {
  applicationId: string;
  input: string;
  output: string;
}

/** Fresh input (filled with PER_KEY records per key) and output topics, and an application id. */
async function topics(): Promise<Topics> {
  const t = {
    applicationId: uniqueName('secure-count'),
    input: uniqueName('secure-in'),
    output: uniqueName('secure-out'),
  };
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: t.input, numPartitions: 2 },
      { topic: t.output, numPartitions: 2 },
    ],
  });
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({
    topic: t.input,
    messages: Array.from({ length: PER_KEY * KEYS.length }, (_, i) => ({
      key: KEYS[i % KEYS.length]!,
      value: 'x',
    })),
  });
  await producer.disconnect();
  return t;
}

/** How an app reaches the secure broker. */
interface Client {
  brokers: string[];
  ssl?: TlsOptions;
  sasl?: SaslOptions;
}

function app(t: Topics, client: Client, extra: Partial<StreamsConfig> = {}) {
  const a = new StreamsApp(wordCountTopology(t.input, t.output), {
    applicationId: t.applicationId,
    ...client,
    stateDir: join(stateRoot, t.applicationId),
    commitIntervalMs: 200,
    sessionTimeoutMs: 10_000,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    clientLogLevel: 'nothing',
    ...extra,
  });
  apps.push(a);
  return a;
}

/** The last count written for each key, once the output holds one count per input record. */
async function finalCounts(output: string): Promise<Map<string, number>> {
  const total = PER_KEY * KEYS.length;
  await waitFor(
    async () => {
      const offsets = await admin.fetchTopicOffsets(output);
      return offsets.reduce((n, o) => n + Number(o.high), 0) >= total;
    },
    { timeoutMs: 60_000, what: `${total} counts in ${output}` },
  );
  const counts = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: uniqueName('secure-reader') });
  await consumer.connect();
  await consumer.subscribe({ topic: output, fromBeginning: true });
  let read = 0;
  await consumer.run({
    eachMessage: async ({ message }) => {
      read++;
      const key = message.key!.toString();
      counts.set(key, Math.max(counts.get(key) ?? 0, Number(message.value!.toString())));
    },
  });
  await waitFor(() => read >= total, { what: `reading ${total} counts` });
  await consumer.disconnect();
  return counts;
}

/** An unsigned JWT naming `sub`, the principal, as the broker's unsecured OAUTHBEARER validator accepts it. */
function unsecuredToken(sub: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none' })}.${part({ sub, iat: now, exp: now + 3600 })}.`;
}

/** The offsets the group committed on the input: none, when the app stopped before committing anything. */
async function committed(t: Topics): Promise<string[]> {
  // A group that never formed has no coordinator loaded yet: the first answer may be NOT_COORDINATOR.
  const [offsets] = await waitFor(() => admin.fetchOffsets({ groupId: t.applicationId, topics: [t.input] }), {
    timeoutMs: 15_000,
    what: `the offsets of group ${t.applicationId}`,
  });
  return offsets!.partitions.map((p) => p.offset).filter((o) => o !== '-1');
}

/** Starts the app and expects it to fail with `code`, soon; returns the error. */
async function startFails(a: StreamsApp, code: string): Promise<StreamsError> {
  const began = Date.now();
  const err = (await a.start().then(
    () => undefined,
    (e: unknown) => e,
  )) as StreamsError | undefined;
  expect(err?.code, String(err?.message)).toBe(code);
  expect(Date.now() - began).toBeLessThan(FAILS_WITHIN_MS);
  expect(a.state).toBe('ERROR');
  return err!;
}

describe('a broker with TLS, mTLS, SCRAM and ACLs', () => {
  const exact = new Map(KEYS.map((k) => [k, PER_KEY]));

  /** Runs an app with these client options and expects its final count of every key to be exact. */
  async function countsExactly(client: Client, extra: Partial<StreamsConfig> = {}) {
    const t = await topics();
    await grantApp(admin, security.principal, { ...t, inputs: [t.input], outputs: [t.output] });
    const a = app(t, client, extra);
    await a.start();
    expect(await finalCounts(t.output)).toEqual(exact);
    await a.close();
    expect(a.error).toBeUndefined();
  }

  it('an app counts exactly over mTLS (its certificate is its principal)', async () => {
    await countsExactly({ brokers: [security.listeners.ssl], ssl: { ca: security.ca, ...security.client } });
  });

  it('an app counts exactly over SASL_SSL with SCRAM-SHA-512, exactly-once (its transactional ids granted)', async () => {
    await countsExactly(
      {
        brokers: [security.listeners.saslSsl],
        ssl: { ca: security.ca },
        sasl: { mechanism: 'scram-sha-512', ...security.scram },
      },
      { processingGuarantee: 'exactly-once' },
    );
  });

  it('an app counts exactly over SASL_SSL with PLAIN', async () => {
    await countsExactly({
      brokers: [security.listeners.saslSsl],
      ssl: { ca: security.ca },
      sasl: { mechanism: 'plain', ...security.scram },
    });
  });

  it('an app counts exactly over SASL_SSL with OAUTHBEARER, its token from the callback', async () => {
    let tokens = 0;
    const token = async () => {
      tokens++;
      return { value: unsecuredToken(security.scram.username) };
    };
    await countsExactly({
      brokers: [security.listeners.saslSsl],
      ssl: { ca: security.ca },
      sasl: { mechanism: 'oauthbearer', token },
    });
    expect(tokens).toBeGreaterThan(0);
  });

  it('refuses without a client certificate, with one of an untrusted CA, and a broker it does not trust', async () => {
    const t = await topics();
    await grantApp(admin, security.principal, { ...t, inputs: [t.input], outputs: [t.output] });
    const refused: TlsOptions[] = [
      { ca: security.ca },
      { ca: security.ca, ...security.untrustedClient },
      { ca: security.untrustedCa, ...security.client },
    ];
    for (const ssl of refused) {
      const err = await startFails(
        app(t, { brokers: [security.listeners.ssl], ssl }),
        'AUTHENTICATION_FAILED',
      );
      expect(err.message).toContain('TLS handshake');
    }
    expect(await committed(t)).toEqual([]);
  });

  it('refuses a wrong SCRAM or PLAIN password', async () => {
    const t = await topics();
    await grantApp(admin, security.principal, { ...t, inputs: [t.input], outputs: [t.output] });
    for (const mechanism of ['scram-sha-256', 'scram-sha-512', 'plain'] as const) {
      const a = app(t, {
        brokers: [security.listeners.saslSsl],
        ssl: { ca: security.ca },
        sasl: { mechanism, username: security.scram.username, password: 'not-the-password' },
      });
      await startFails(a, 'AUTHENTICATION_FAILED');
    }
    expect(await committed(t)).toEqual([]);
  });

  const scram = (): Client => ({
    brokers: [security.listeners.saslSsl],
    ssl: { ca: security.ca },
    sasl: { mechanism: 'scram-sha-256', ...security.scram },
  });

  it('stops at start with AUTHORIZATION_FAILED on an input topic its principal may not see', async () => {
    const t = await topics();
    await grantApp(admin, security.principal, { ...t, inputs: [], outputs: [t.output] });
    const err = await startFails(app(t, scram()), 'AUTHORIZATION_FAILED');
    expect(err.message).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(await committed(t)).toEqual([]);
  });

  it('stops with AUTHORIZATION_FAILED when its group is denied', async () => {
    const t = await topics();
    await grantApp(admin, security.principal, { ...t, inputs: [t.input], outputs: [t.output], group: false });
    const err = await startFails(app(t, scram()), 'AUTHORIZATION_FAILED');
    expect(err.message).toContain('GROUP_AUTHORIZATION_FAILED');
    expect(await committed(t)).toEqual([]);
  });

  it('stops with AUTHORIZATION_FAILED, nothing committed or written, on input it may see but not read', async () => {
    await expectStopsWhileRunning('input');
  });

  it('stops with AUTHORIZATION_FAILED, nothing committed or written, on output it may see but not write', async () => {
    await expectStopsWhileRunning('output');
  });

  async function expectStopsWhileRunning(denied: 'input' | 'output') {
    const t = await topics();
    await grantApp(admin, security.principal, {
      ...t,
      inputs: denied === 'input' ? [] : [t.input],
      outputs: denied === 'output' ? [] : [t.output],
    });
    await grantDescribe(admin, security.principal, denied === 'input' ? t.input : t.output);
    const a = app(t, scram());
    const stopped = new Promise<StreamsError>((resolve) => a.onError(resolve));
    const began = Date.now();
    // The topics are visible, so start joins the group; the first fetch (or send) is what the broker refuses.
    await a.start().catch(() => undefined);
    const err = await stopped;
    expect(err.code, err.message).toBe('AUTHORIZATION_FAILED');
    expect(err.message).toContain('TOPIC_AUTHORIZATION_FAILED');
    expect(Date.now() - began).toBeLessThan(FAILS_WITHIN_MS);
    await a.close();
    expect(await committed(t)).toEqual([]);
    const written = await admin.fetchTopicOffsets(t.output);
    expect(written.map((o) => o.high)).toEqual(['0', '0']);
  }
});
