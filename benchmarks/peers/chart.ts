// Draws results/peers.json as panels of bars, one per app: records per second, peak RSS and CPU time, coloured by
// client.
import { renderBarChart } from '../support/bar-chart.js';
import type { Figure } from '../support/results.js';
import type { Peer } from './peers.js';

const COLORS: Record<Peer['client'], string> = {
  'Kafka Streams': '#4e79a7',
  'kafkajs by hand': '#bab0ac',
  Eddy: '#f28e2b',
  'Eddy on @platformatic/kafka': '#59a14f',
};

/** Peers without figures in `results` are left out. */
export function renderPeersChart(peers: Peer[], results: Figure[]): string {
  const value = new Map(results.map((f) => [f.name, f.value]));
  const records = value.get('peers.records');
  const panel = (heading: string, figure: string) => ({
    heading,
    bars: peers.flatMap((p) => {
      const v = value.get(`peers.count.${p.id}.${figure}`);
      return v === undefined ? [] : [{ title: p.label, parts: [{ name: p.client, value: v }] }];
    }),
  });
  return renderBarChart({
    title: `The count end to end, ${records?.toLocaleString('en') ?? '?'} records, one broker, one run`,
    panels: [
      panel('records per second (higher is better)', 'records-per-s'),
      panel('peak RSS, MB (lower is better)', 'peak-rss-mb'),
      panel('CPU time, s, all threads (lower is better)', 'cpu-s'),
    ],
    colors: COLORS,
    formatPart: (v) => v.toLocaleString('en'),
    formatTotal: (t) => t.toLocaleString('en'),
    titleWidth: 260,
    barWidth: 480,
  });
}
