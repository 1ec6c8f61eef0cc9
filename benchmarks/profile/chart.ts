// Draws the profile breakdowns of results/profile.json as one stacked bar per label and pipeline: CPU time per
// input record by category (idle left out), with support/bar-chart.ts.

import { type Bar, renderBarChart } from '../support/bar-chart.js';
import { CATEGORIES, type Category } from './categories.js';

interface Figure {
  name: string;
  value: number;
}

const COLORS: Record<Category, string> = {
  'fetch decoding': '#4e79a7',
  deserialization: '#a0cbe8',
  processing: '#f28e2b',
  'store and cache': '#ffbe7d',
  'changelog and output': '#59a14f',
  'produce encoding': '#8cd17d',
  commit: '#b6992d',
  runtime: '#e15759',
  'client other': '#79706e',
  gc: '#d37295',
  idle: '#ffffff',
  other: '#bab0ac',
};

const TITLE = 'CPU time per input record (µs, by category; idle left out)';

const PIPELINES = { raw: 'raw kafkajs', alos: 'Eddy at-least-once' } as const;

export function renderChart(results: Figure[]): string {
  const value = new Map(results.map((f) => [f.name, f.value]));
  const labels = [
    ...new Set(
      results.map((f) => /^profile\.([a-z0-9-]+)\./.exec(f.name)?.[1]).filter((l) => l !== undefined),
    ),
  ];
  const shown = CATEGORIES.filter((c) => c !== 'idle');
  const bars: Bar[] = [];
  for (const label of labels) {
    const records = value.get(`profile.${label}.records`) ?? 1_000_000;
    for (const [pipeline, name] of Object.entries(PIPELINES)) {
      const parts = shown.map((c) => ({
        name: c,
        value: ((value.get(`profile.${label}.${pipeline}.cpu.${c}`) ?? 0) * 1000) / records,
      }));
      if (parts.every((p) => p.value === 0)) continue;
      bars.push({ title: `${label}: ${name}`, parts });
    }
  }
  return renderBarChart({
    title: TITLE,
    panels: [{ bars }],
    colors: Object.fromEntries(shown.map((c) => [c, COLORS[c]])),
    formatPart: (v) => `${v.toFixed(2)} µs`,
    formatTotal: (t) => t.toFixed(1),
  });
}
