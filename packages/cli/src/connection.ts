// The broker options every command shares, and a connected kafkajs admin client built from them.
import { readFileSync } from 'node:fs';
import type { SaslOptions, TlsOptions } from '@eddy/streams';
import { type ClientOptions, kafkaConfigOf } from '@eddy/streams/internals';
import { type Command, Option } from 'commander';
import { type Admin, Kafka } from 'kafkajs';
import { CliError, invalidArgument } from './errors.js';
import { positiveInteger } from './parse.js';

export interface ConnectionFlags {
  brokers: string;
  clientId: string;
  connectTimeout: number;
  ssl?: boolean;
  sslCa?: string;
  sslCert?: string;
  sslKey?: string;
  saslMechanism?: string;
  saslUsername?: string;
  saslPassword?: string;
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
const BROKER = /^[^\s:,]+:\d{1,5}$/;

/** Adds the broker options to `command`. */
export function connectionOptions(command: Command): Command {
  return command
    .addOption(
      new Option('-b, --brokers <host:port,...>', 'bootstrap servers')
        .env('KAFKA_BROKERS')
        .default('localhost:9092'),
    )
    .option('--client-id <id>', 'Kafka client id', 'eddy-cli')
    .option(
      '--connect-timeout <ms>',
      'how long to try reaching a broker',
      positiveInteger('--connect-timeout'),
      10_000,
    )
    .option('--ssl', 'connect over TLS (system trusted roots unless --ssl-ca)')
    .option('--ssl-ca <file>', 'PEM file of the CA that signed the brokers (implies --ssl)')
    .option('--ssl-cert <file>', 'PEM client certificate for mTLS (implies --ssl)')
    .option('--ssl-key <file>', 'PEM private key of --ssl-cert')
    .option('--sasl-mechanism <mechanism>', `SASL mechanism: ${SASL_MECHANISMS.join(', ')}`)
    .option('--sasl-username <name>', 'SASL user')
    .addOption(new Option('--sasl-password <password>', 'SASL password').env('KAFKA_SASL_PASSWORD'));
}

function pem(option: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError('FILE_FAILED', `${option}: cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

function tlsOf(flags: ConnectionFlags): boolean | TlsOptions | undefined {
  if (flags.sslKey !== undefined && flags.sslCert === undefined)
    throw invalidArgument('--ssl-key needs --ssl-cert');
  if (flags.sslCert !== undefined && flags.sslKey === undefined)
    throw invalidArgument('--ssl-cert needs --ssl-key');
  const tls: TlsOptions = {};
  if (flags.sslCa !== undefined) tls.ca = pem('--ssl-ca', flags.sslCa);
  if (flags.sslCert !== undefined) tls.cert = pem('--ssl-cert', flags.sslCert);
  if (flags.sslKey !== undefined) tls.key = pem('--ssl-key', flags.sslKey);
  if (Object.keys(tls).length > 0) return tls;
  return flags.ssl ? true : undefined;
}

function saslOf(flags: ConnectionFlags): SaslOptions | undefined {
  const mechanism = flags.saslMechanism?.toLowerCase();
  if (mechanism === undefined) {
    if (flags.saslUsername !== undefined) throw invalidArgument('--sasl-username needs --sasl-mechanism');
    return undefined;
  }
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    throw invalidArgument(
      `--sasl-mechanism must be one of ${SASL_MECHANISMS.join(', ')}, got "${flags.saslMechanism}"`,
    );
  }
  if (flags.saslUsername === undefined || flags.saslPassword === undefined) {
    throw invalidArgument(
      '--sasl-mechanism needs --sasl-username and --sasl-password (or KAFKA_SASL_PASSWORD)',
    );
  }
  return {
    mechanism: mechanism as (typeof SASL_MECHANISMS)[number],
    username: flags.saslUsername,
    password: flags.saslPassword,
  };
}

/** The client options the flags describe; INVALID_ARGUMENT for a malformed one. */
export function clientOptionsOf(flags: ConnectionFlags): ClientOptions {
  const brokers = flags.brokers.split(',').map((b) => b.trim());
  const bad = brokers.find((b) => !BROKER.test(b));
  if (bad !== undefined) throw invalidArgument(`--brokers must be host:port[,host:port...], got "${bad}"`);
  const ssl = tlsOf(flags);
  const sasl = saslOf(flags);
  return {
    clientId: flags.clientId,
    brokers,
    connectionTimeoutMs: Math.min(flags.connectTimeout, 5_000),
    requestTimeoutMs: 30_000,
    retryBudgetMs: flags.connectTimeout,
    logLevel: 'nothing',
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
  };
}

/** A connected admin client; BROKER_UNREACHABLE when no broker answers in time. Disconnect it when done. */
export async function connectAdmin(flags: ConnectionFlags): Promise<Admin> {
  const options = clientOptionsOf(flags);
  const config = kafkaConfigOf(options);
  const admin = new Kafka(config).admin({ retry: config.retry });
  try {
    await admin.connect();
  } catch (err) {
    const name = (err as { name?: string }).name ?? '';
    if (name.includes('SASL')) {
      throw new CliError('KAFKA_FAILED', `authentication failed: ${(err as Error).message}`, { cause: err });
    }
    throw new CliError(
      'BROKER_UNREACHABLE',
      `no broker of ${options.brokers.join(',')} answered within ${flags.connectTimeout} ms: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return admin;
}

/** Runs `fn` with a connected admin client and disconnects it afterwards. */
export async function withAdmin<T>(flags: ConnectionFlags, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = await connectAdmin(flags);
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
