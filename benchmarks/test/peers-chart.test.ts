import { describe, expect, it } from 'vitest';
import { renderPeersChart } from '../peers/chart.js';
import { PEERS } from '../peers/peers.js';

describe('renderPeersChart', () => {
  const results = [
    { name: 'peers.records', value: 1_000_000, unit: 'records' },
    { name: 'peers.count.eddy-alos.records-per-s', value: 20_972, unit: 'records/s' },
    { name: 'peers.count.eddy-alos.peak-rss-mb', value: 473, unit: 'MB' },
    { name: 'peers.count.eddy-alos.cpu-s', value: 19.7, unit: 's' },
    { name: 'peers.count.kafka-streams-alos.records-per-s', value: 11_196, unit: 'records/s' },
  ];

  it('draws a bar per app and figure it has, and none for an app without figures', () => {
    const svg = renderPeersChart(PEERS, results);
    expect(svg).toContain('1,000,000 records');
    expect(svg).toContain('>20,972</text>');
    expect(svg).toContain('>473</text>');
    expect(svg).toContain('>11,196</text>');
    // Eddy in three panels, Kafka Streams at-least-once in one; no bar for the apps without figures.
    expect(svg.match(/>Eddy at-least-once</g)).toHaveLength(3);
    expect(svg.match(/>Kafka Streams at-least-once</g)).toHaveLength(1);
    expect(svg).not.toContain('Eddy exactly-once');
  });

  it('scales each panel on its own: the largest bar of each is full width', () => {
    const svg = renderPeersChart(PEERS, results);
    expect(svg.match(/width="480\.0"/g)).toHaveLength(3);
  });
});
