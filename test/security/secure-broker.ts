// The security tests' own broker (test/kafka/broker.mjs start --secure on port 39300, or KAFKA_SECURE_PORT), its
// harness client over the PLAINTEXT listener (a super user), and the ACLs an Eddy application's principal needs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  Kafka,
  type Kafka as KafkaClient,
  logLevel,
  ResourcePatternTypes,
} from 'kafkajs';
import { repoRoot } from '../support/processes.js';

export const SECURE_PORT = Number(process.env.KAFKA_SECURE_PORT ?? 39300);

/** What `secure.json` of the secure broker holds. */
export interface Security {
  listeners: { plaintext: string; ssl: string; saslSsl: string };
  ca: string;
  untrustedCa: string;
  client: { cert: string; key: string };
  untrustedClient: { cert: string; key: string };
  /** The SASL user, for SCRAM and PLAIN. */
  scram: { username: string; password: string };
  /** The principal of both the client certificate and the SASL user. */
  principal: string;
}

function run(command: 'start' | 'stop'): string {
  const env: NodeJS.ProcessEnv = { ...process.env, KAFKA_PORT: String(SECURE_PORT), KAFKA_HEAP: '512m' };
  delete env.KAFKA_BROKERS;
  const args = command === 'start' ? ['start', '--secure'] : ['stop', '--wipe'];
  const r = spawnSync(process.execPath, ['test/kafka/broker.mjs', ...args], {
    cwd: repoRoot,
    env,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`broker.mjs ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout.trim();
}

/** Starts the secure broker (certificates, SCRAM users, authorizer) and says how to reach it. */
export function startSecureBroker(): Security {
  return JSON.parse(readFileSync(run('start'), 'utf8')) as Security;
}

/** Stops the secure broker and deletes its data and certificates. */
export function stopSecureBroker(): void {
  run('stop');
}

/** A client of the harness: PLAINTEXT, whose principal the broker makes a super user. */
export function harnessKafka(security: Security): KafkaClient {
  return new Kafka({
    clientId: 'security-harness',
    brokers: [security.listeners.plaintext],
    logLevel: logLevel.NOTHING,
  });
}

export interface AppGrants {
  applicationId: string;
  inputs: string[];
  outputs: string[];
  /** Default true; false leaves the application's group out (its members are refused the group). */
  group?: boolean;
}

/** An ACL that allows `principal` `operation` on the resources `resourceName` names (literally or as a prefix). */
function allow(
  principal: string,
  resourceType: AclResourceTypes,
  resourceName: string,
  resourcePatternType: ResourcePatternTypes,
  operation: AclOperationTypes,
) {
  return {
    resourceType,
    resourceName,
    resourcePatternType,
    operation,
    principal,
    host: '*',
    permissionType: AclPermissionTypes.ALLOW,
  };
}

/**
 * The ACLs of an Eddy application's principal: read its inputs, write its outputs; create, use and delete topics,
 * groups (its own and the private ones of restore) and transactional ids only under its application id prefix.
 */
export async function grantApp(admin: Admin, principal: string, grants: AppGrants): Promise<void> {
  const { TOPIC, GROUP, TRANSACTIONAL_ID } = AclResourceTypes;
  const { LITERAL, PREFIXED } = ResourcePatternTypes;
  const { READ, WRITE, ALL } = AclOperationTypes;
  const app = grants.applicationId;
  await admin.createAcls({
    acl: [
      ...grants.inputs.map((t) => allow(principal, TOPIC, t, LITERAL, READ)),
      ...grants.outputs.map((t) => allow(principal, TOPIC, t, LITERAL, WRITE)),
      allow(principal, TOPIC, app, PREFIXED, ALL),
      ...(grants.group === false ? [] : [allow(principal, GROUP, app, PREFIXED, ALL)]),
      allow(principal, TRANSACTIONAL_ID, app, PREFIXED, ALL),
    ],
  });
}

/** Lets the principal see a topic (its metadata and offsets) and nothing more. */
export async function grantDescribe(admin: Admin, principal: string, topic: string): Promise<void> {
  await admin.createAcls({
    acl: [
      allow(
        principal,
        AclResourceTypes.TOPIC,
        topic,
        ResourcePatternTypes.LITERAL,
        AclOperationTypes.DESCRIBE,
      ),
    ],
  });
}

/** The state folder root of the security tests. */
export const securityStateDir = join(repoRoot, '.data', 'security-state');
