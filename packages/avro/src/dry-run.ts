// The schema gate's dry run: what a start of a topology would decide about its schemas, without changing anything.
import { dryRunSerdes, type SerdeDecision, type Topology } from '@eddy/streams';

/** Outcomes that would stop a start. */
const REFUSALS = new Set(['refuse', 'missing']);

/**
 * The decisions every serde of `topology` would make at a start under `applicationId` (the Avro serdes: the gate's
 * verdict per written subject, the versions learnt per read one). `ok` is false when a start would be refused.
 */
export async function schemaGateDryRun(
  topology: Topology,
  applicationId: string,
): Promise<{ ok: boolean; decisions: SerdeDecision[] }> {
  const decisions = await dryRunSerdes(topology, applicationId);
  return { ok: !decisions.some((d) => REFUSALS.has(d.outcome)), decisions };
}

/** One line per decision: outcome, use (kind, topic or store, key or value), message. */
export function formatGateDecisions(decisions: SerdeDecision[]): string {
  return decisions
    .map(({ outcome, use, message }) => {
      const where = use.store === undefined ? (use.topic ?? '(topic per record)') : `store ${use.store}`;
      return `${outcome.padEnd(10)} ${use.kind.padEnd(11)} ${`${where} ${use.part}`.padEnd(40)} ${message}`;
    })
    .join('\n');
}
