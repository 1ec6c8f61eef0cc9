// `eddy describe <module>`: the topology a module exports, with the internal topics it needs.
import type { Command } from 'commander';
import { Output, table } from '../output.js';
import { applicationId } from '../parse.js';
import { describeTopology, type TopologyDescription } from '../topology-description.js';
import { loadTopology } from '../topology-module.js';

function render(d: TopologyDescription): string {
  const internal = [
    ...d.repartitionTopics.map((r) => ({
      topic: r.topic,
      kind: 'repartition',
      detail: `subtopology ${r.writers.join(',')} -> ${r.reader}${r.partitions === null ? '' : `, ${r.partitions} partitions`}`,
    })),
    ...d.changelogTopics.map((c) => ({
      topic: c.topic,
      kind: 'changelog',
      detail: `store ${c.store} of subtopology ${c.subtopology}, ${c.config['cleanup.policy'] ?? ''}`,
    })),
  ];
  const lines = [d.text.trimEnd(), ''];
  lines.push(`Source topics: ${d.sourceTopics.join(', ') || 'none'}`);
  lines.push(`Sink topics: ${d.sinkTopics.join(', ') || 'none'}`);
  lines.push('');
  lines.push(internal.length ? table(internal, ['topic', 'kind', 'detail']) : 'Internal topics: none');
  return lines.join('\n');
}

export function registerDescribe(program: Command): void {
  program
    .command('describe')
    .description(
      'print the topology a module exports: subtopologies, sources, processors, stores, sinks, topics',
    )
    .argument(
      '<module>',
      'a module exporting a Topology or StreamsBuilder (default, `topology`, or --export)',
    )
    .option('--export <name>', 'the export to describe (a function is called and may return either)')
    .option(
      '--application-id <id>',
      'names the internal topics as this application would',
      applicationId('--application-id'),
      '<application-id>',
    )
    .option('--json', 'print JSON')
    .action(async (module: string, opts: { export?: string; applicationId: string; json?: boolean }) => {
      const topology = await loadTopology(module, opts.export);
      new Output(opts.json === true).result(describeTopology(topology, opts.applicationId), render);
    });
}
