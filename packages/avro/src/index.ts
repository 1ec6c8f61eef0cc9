// Public API of @eddy/avro.
export { AvroSerde, type AvroSerdeOptions, AvroSerdes, type GenericRecord } from './avro-serde.js';
export {
  COMPATIBILITY_LEVELS,
  type CompatibilityLevel,
  checkCompatibility,
  unreadable,
} from './compatibility.js';
export { formatGateDecisions, schemaGateDryRun } from './dry-run.js';
export { AVRO_ERROR_CODES, AvroError, type AvroErrorCode, type SchemaRefusal } from './errors.js';
export { RegistryClient, type RegistryOptions } from './registry.js';
export { defaultLevel, type GateOptions } from './schema-gate.js';
export type { SubjectNameStrategy } from './subject.js';
export { frame, schemaIdOf } from './wire-format.js';
