// The schema gate: before an app writes with a schema, check it against the subject's registered versions under the
// subject's compatibility level, then register it (or require it registered). Readers learn the subject's versions.
import type { SerdeUse } from '@eddy/streams';
import avro from 'avsc';
import { type CompatibilityLevel, checkCompatibility, isLevel } from './compatibility.js';
import { AvroError } from './errors.js';
import type { RegistryClient } from './registry.js';

export interface GateOptions {
  /** Register a schema the subject does not have yet (default true); false: it must be registered beforehand. */
  autoRegister?: boolean;
  /**
   * The level to check under. Default: the subject's level in the registry when set to something other than NONE,
   * else BACKWARD for output topics (their readers are other apps, upgraded after the writer) and FULL for stores
   * and repartition topics (their readers are older and newer instances of the same app).
   */
  compatibility?: CompatibilityLevel;
}

/** The level the gate applies to a use when neither the options nor the registry set one. */
export const defaultLevel = (kind: SerdeUse['kind']): CompatibilityLevel =>
  kind === 'output' || kind === 'input' ? 'BACKWARD' : 'FULL';

/** The schema as registered: its JSON with defaults and docs (not the parsing canonical form, which drops them). */
export const schemaText = (type: avro.Type): string => JSON.stringify(type.schema({ exportAttrs: true }));

/** The subject's registered versions, oldest first, with their types; each id's schema is remembered by `registry`. */
async function registeredVersions(registry: RegistryClient, subject: string) {
  const out: { version: number; id: number; type: avro.Type }[] = [];
  for (const version of await registry.versions(subject)) {
    const v = await registry.version(subject, version);
    registry.remember(v.id, v.schema);
    out.push({ version, id: v.id, type: avro.Type.forSchema(JSON.parse(v.schema)) });
  }
  return out;
}

/**
 * Runs the gate for one writing use: resolves to the id to write with, or undefined in a dry run that would
 * register. Refuses with SCHEMA_INCOMPATIBLE or SCHEMA_NOT_REGISTERED (reported, and thrown unless a dry run).
 */
export async function gate(
  registry: RegistryClient,
  use: SerdeUse,
  subject: string,
  type: avro.Type,
  options: GateOptions,
): Promise<number | undefined> {
  const { report, ...where } = use;
  const decide = (outcome: string, message: string) => report({ use: where, outcome, message });
  const schema = schemaText(type);
  const versions = await registeredVersions(registry, subject);
  const found = await registry.lookup(subject, schema);
  if (found !== undefined) {
    registry.remember(found.id, schema);
    decide('registered', `${subject}: the schema is version ${found.version} (id ${found.id})`);
    return found.id;
  }
  const configured = options.compatibility === undefined ? await registry.compatibility(subject) : undefined;
  const level =
    options.compatibility ??
    (isLevel(configured) && configured !== 'NONE' ? configured : defaultLevel(use.kind));
  const latest = versions.at(-1)?.version;
  const problems = checkCompatibility(type, versions, level);
  if (problems.versions.length > 0) {
    const refusal = { subject, level, versions: problems.versions, fields: problems.fields };
    const message =
      `${subject}: the new schema is not ${level}-compatible with version(s) ${problems.versions.join(', ')}: ` +
      problems.fields.join('; ');
    decide('refuse', message);
    if (use.dryRun) return undefined;
    throw new AvroError('SCHEMA_INCOMPATIBLE', message, { refusal });
  }
  const against = latest === undefined ? 'a new subject' : `${level}-compatible with version ${latest}`;
  if (options.autoRegister === false) {
    const message = `${subject}: the schema is not registered (${against}) and autoRegister is off`;
    decide('missing', message);
    if (use.dryRun) return undefined;
    throw new AvroError('SCHEMA_NOT_REGISTERED', message);
  }
  if (use.dryRun) {
    decide('register', `${subject}: would register version ${(latest ?? 0) + 1} (${against})`);
    return undefined;
  }
  const id = await registry.register(subject, schema, level);
  registry.remember(id, schema);
  decide('register', `${subject}: registered the schema as id ${id} (${against})`);
  return id;
}

/** For a reading use: learns the subject's registered schemas so that reading them needs no request. */
export async function learnVersions(registry: RegistryClient, use: SerdeUse, subject: string): Promise<void> {
  const versions = await registeredVersions(registry, subject);
  const { report, ...where } = use;
  report({
    use: where,
    outcome: 'read',
    message: `${subject}: reads ${versions.length} registered version(s)${versions.length === 0 ? '' : ` (ids ${versions.map((v) => v.id).join(', ')})`}`,
  });
}
