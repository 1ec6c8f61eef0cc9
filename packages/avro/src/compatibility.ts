// Schema compatibility as the registry defines its levels, computed locally so that a refusal names the fields.
import avro from 'avsc';

export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;

export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

export const isLevel = (s: string | undefined): s is CompatibilityLevel =>
  (COMPATIBILITY_LEVELS as readonly string[]).includes(s ?? '');

/** Whether a level compares a new schema with every registered version, or only with the latest. */
export const isTransitive = (level: CompatibilityLevel): boolean => level.endsWith('_TRANSITIVE');

/**
 * Why `reader` cannot read data written with `writer`, one entry per field (`Record.field: reason`); empty when
 * it can.
 */
export function unreadable(reader: avro.Type, writer: avro.Type): string[] {
  try {
    reader.createResolver(writer);
    return [];
  } catch (err) {
    const found = fieldProblems(reader, writer, reader.name ?? reader.typeName);
    return found.length > 0 ? found : [`${reader.name ?? reader.typeName}: ${(err as Error).message}`];
  }
}

function fieldProblems(reader: avro.Type, writer: avro.Type, path: string): string[] {
  if (!(reader instanceof avro.types.RecordType) || !(writer instanceof avro.types.RecordType)) return [];
  const problems: string[] = [];
  for (const field of reader.fields) {
    const names = [field.name, ...field.aliases];
    const written = writer.fields.find((w) => names.includes(w.name));
    const at = `${path}.${field.name}`;
    if (written === undefined) {
      if (field.defaultValue() === undefined)
        problems.push(`${at}: not in the writer's schema and no default`);
      continue;
    }
    try {
      field.type.createResolver(written.type);
    } catch {
      const inner = fieldProblems(field.type, written.type, at);
      problems.push(
        ...(inner.length > 0
          ? inner
          : [`${at}: type ${typeLabel(written.type)} cannot be read as ${typeLabel(field.type)}`]),
      );
    }
  }
  return problems;
}

const typeLabel = (t: avro.Type): string => t.name ?? t.typeName;

/**
 * The problems of `candidate` against `registered` (oldest first) under `level`: new readers of old data (BACKWARD),
 * old readers of new data (FORWARD), or both (FULL); against the latest version only unless transitive. Each
 * problem is prefixed with the version it concerns. Returns the versions that failed and the problems.
 */
export function checkCompatibility(
  candidate: avro.Type,
  registered: { version: number; type: avro.Type }[],
  level: CompatibilityLevel,
): { versions: number[]; fields: string[] } {
  if (level === 'NONE' || registered.length === 0) return { versions: [], fields: [] };
  const against = isTransitive(level) ? registered : registered.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const versions: number[] = [];
  const fields: string[] = [];
  for (const { version, type } of against) {
    const problems = [
      ...(backward ? unreadable(candidate, type).map((p) => `${p} (new readers of version ${version})`) : []),
      ...(forward
        ? unreadable(type, candidate).map((p) => `${p} (version ${version} readers of new data)`)
        : []),
    ];
    if (problems.length > 0) {
      versions.push(version);
      fields.push(...problems);
    }
  }
  return { versions, fields };
}
