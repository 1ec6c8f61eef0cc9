// Every place a topology uses a serde (sources, sinks, repartition topics, stores), and the start-up step that lets
// each serde prepare for its uses.
import { changelogTopic } from '@eddy/state';
import { errorMessage, StreamsError } from '../errors.js';
import type { Preparable, SerdeDecision, SerdeUse } from '../serdes/serde.js';
import type { SealedTopology, Topology } from '../topology/topology.js';

type UseOf = Omit<SerdeUse, 'applicationId' | 'dryRun' | 'report'>;

/** The serdes of a sealed topology with their uses, in topology order; a serde shared by two uses appears twice. */
export function serdeUses(graph: SealedTopology): { serde: Preparable; use: UseOf }[] {
  const out: { serde: Preparable; use: UseOf }[] = [];
  const both = (key: unknown, value: unknown, use: Omit<UseOf, 'part'>) => {
    out.push({ serde: key as Preparable, use: { ...use, part: 'key' } });
    out.push({ serde: value as Preparable, use: { ...use, part: 'value' } });
  };
  for (const node of graph.nodes) {
    if (node.kind === 'source') {
      const kind = node.repartitionTopic === undefined ? 'input' : 'repartition';
      for (const topic of node.topics) both(node.keySerde, node.valueSerde, { kind, topic, writes: false });
    } else if (node.kind === 'sink') {
      both(node.keySerde, node.valueSerde, {
        kind: node.repartitionTopic === undefined ? 'output' : 'repartition',
        topic: typeof node.topic === 'string' ? node.topic : undefined,
        writes: true,
      });
    }
  }
  const stores = [
    ...graph.stores.map((s) => ({ name: s.name, options: s.builder.options, global: undefined })),
    ...graph.globalStores.map((g) => ({ name: g.name, options: g.builder.options, global: g.topic })),
  ];
  for (const { name, options, global } of stores) {
    const { keySerde, valueSerde } = options as { keySerde?: unknown; valueSerde?: unknown };
    // A store copied from a topic holds that topic's bytes: the app reads them and writes no changelog.
    const copyOf = global ?? options.sourceTopic;
    if (copyOf !== undefined) {
      both(keySerde, valueSerde, { kind: 'input', topic: copyOf, store: name, writes: false });
    } else {
      both(keySerde, valueSerde, {
        kind: 'store',
        topic: changelogTopic(graph.applicationId, name),
        store: name,
        writes: true,
      });
    }
  }
  return out.filter(({ serde }) => typeof serde?.prepare === 'function');
}

/**
 * Calls `prepare` of every serde of the topology that has one, once per use, in topology order. A failure stops
 * there: a StreamsError passes through, anything else becomes SERDE_PREPARE_FAILED naming the use.
 */
export async function prepareSerdes(
  graph: SealedTopology,
  options: { dryRun: boolean; report?: (decision: SerdeDecision) => void },
): Promise<void> {
  const report = options.report ?? (() => undefined);
  for (const { serde, use } of serdeUses(graph)) {
    const full: SerdeUse = { ...use, applicationId: graph.applicationId, dryRun: options.dryRun, report };
    try {
      await serde.prepare?.(full);
    } catch (err) {
      if (err instanceof StreamsError) throw err;
      const where =
        use.store === undefined ? `topic ${use.topic ?? '(chosen per record)'}` : `store ${use.store}`;
      throw new StreamsError(
        'SERDE_PREPARE_FAILED',
        `the ${use.part} serde of ${where} could not prepare: ${errorMessage(err)}`,
        { cause: err },
      );
    }
  }
}

/**
 * Lets every serde of `topology` (sealed for `applicationId`) prepare as a dry run and returns their decisions:
 * what a start would decide, without changing anything outside the process. Rejects as a start would.
 */
export async function dryRunSerdes(topology: Topology, applicationId: string): Promise<SerdeDecision[]> {
  const decisions: SerdeDecision[] = [];
  await prepareSerdes(topology.seal(applicationId), { dryRun: true, report: (d) => decisions.push(d) });
  return decisions;
}
