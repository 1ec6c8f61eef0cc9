// Draws the profile breakdowns of results/profile.json as one stacked bar per label and pipeline: CPU time per
// input record by category (idle left out). Plain SVG, no dependency.

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

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderChart(results: Figure[]): string {
  const value = new Map(results.map((f) => [f.name, f.value]));
  const labels = [
    ...new Set(
      results.map((f) => /^profile\.([a-z0-9-]+)\./.exec(f.name)?.[1]).filter((l) => l !== undefined),
    ),
  ];
  const shown = CATEGORIES.filter((c) => c !== 'idle');
  const bars: { title: string; parts: [Category, number][] }[] = [];
  for (const label of labels) {
    const records = value.get(`profile.${label}.records`) ?? 1_000_000;
    for (const [pipeline, name] of Object.entries(PIPELINES)) {
      const parts = shown.map((c): [Category, number] => [
        c,
        ((value.get(`profile.${label}.${pipeline}.cpu.${c}`) ?? 0) * 1000) / records,
      ]);
      if (parts.every(([, v]) => v === 0)) continue;
      bars.push({ title: `${label}: ${name}`, parts });
    }
  }
  const max = Math.max(1, ...bars.map((b) => b.parts.reduce((s, [, v]) => s + v, 0)));
  const left = 210;
  const width = 560;
  const barH = 24;
  const gap = 12;
  const top = 40;
  const scale = width / max;
  const legendTop = top + bars.length * (barH + gap) + 30;
  const height = legendTop + Math.ceil(shown.length / 3) * 20 + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 80}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<title>${TITLE}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${TITLE}</text>`,
  ];
  bars.forEach((bar, i) => {
    const y = top + i * (barH + gap);
    out.push(
      `<text x="${left - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${escapeXml(bar.title)}</text>`,
    );
    let x = left;
    for (const [c, v] of bar.parts) {
      const w = v * scale;
      if (w <= 0) continue;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${COLORS[c]}"><title>${escapeXml(c)}: ${v.toFixed(2)} µs</title></rect>`,
      );
      x += w;
    }
    const total = bar.parts.reduce((s, [, v]) => s + v, 0);
    out.push(`<text x="${(x + 6).toFixed(1)}" y="${y + barH / 2 + 4}">${total.toFixed(1)}</text>`);
  });
  shown.forEach((c, i) => {
    const x = 10 + (i % 3) * 250;
    const y = legendTop + Math.floor(i / 3) * 20;
    out.push(`<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${COLORS[c]}"/>`);
    out.push(`<text x="${x + 18}" y="${y}">${escapeXml(c)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
