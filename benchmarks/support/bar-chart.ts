// Horizontal bar charts as plain SVG, no dependency: panels of labelled bars, each bar stacked from coloured parts,
// its total written after it, and a legend of the colours below.

export interface BarPart {
  /** The legend entry the part belongs to (its tooltip says it with the value). */
  name: string;
  value: number;
}

export interface Bar {
  title: string;
  parts: BarPart[];
}

export interface Panel {
  /** Written above the panel's bars; none for a chart of one panel whose title says it all. */
  heading?: string;
  bars: Bar[];
}

export interface BarChart {
  title: string;
  panels: Panel[];
  /** The colour of each part name, in legend order. */
  colors: Record<string, string>;
  /** Tooltip of a part's value, e.g. `v => `${v.toFixed(2)} µs``. */
  formatPart: (value: number) => string;
  /** The total written after a bar. */
  formatTotal: (total: number) => string;
  /** Width of the bar titles' column (px). Default 210. */
  titleWidth?: number;
  /** Width of the longest bar of a panel (px). Default 560. */
  barWidth?: number;
  /** Legend entries per row. Default 3. */
  legendColumns?: number;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const BAR_HEIGHT = 24;
const GAP = 12;
const HEADING_HEIGHT = 24;

/** Each panel has a scale of its own: the longest total of its bars is `barWidth` wide. */
export function renderBarChart(chart: BarChart): string {
  const left = chart.titleWidth ?? 210;
  const width = chart.barWidth ?? 560;
  const columns = chart.legendColumns ?? 3;
  const legend = Object.keys(chart.colors);
  const body: string[] = [];
  let y = 40;
  for (const panel of chart.panels) {
    if (panel.heading !== undefined) {
      body.push(`<text x="10" y="${y + 14}" font-weight="bold">${escapeXml(panel.heading)}</text>`);
      y += HEADING_HEIGHT;
    }
    const total = (bar: Bar) => bar.parts.reduce((s, p) => s + p.value, 0);
    const scale = width / Math.max(1, ...panel.bars.map(total));
    for (const bar of panel.bars) {
      body.push(
        `<text x="${left - 8}" y="${y + BAR_HEIGHT / 2 + 4}" text-anchor="end">${escapeXml(bar.title)}</text>`,
      );
      let x = left;
      for (const part of bar.parts) {
        const w = part.value * scale;
        if (w <= 0) continue;
        body.push(
          `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${BAR_HEIGHT}" fill="${chart.colors[part.name]}"><title>${escapeXml(part.name)}: ${chart.formatPart(part.value)}</title></rect>`,
        );
        x += w;
      }
      body.push(
        `<text x="${(x + 6).toFixed(1)}" y="${y + BAR_HEIGHT / 2 + 4}">${escapeXml(chart.formatTotal(total(bar)))}</text>`,
      );
      y += BAR_HEIGHT + GAP;
    }
  }
  const legendTop = y + 30;
  const height = legendTop + Math.ceil(legend.length / columns) * 20 + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 80}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(chart.title)}</title>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${escapeXml(chart.title)}</text>`,
    ...body,
  ];
  legend.forEach((name, i) => {
    const x = 10 + (i % columns) * 250;
    const ly = legendTop + Math.floor(i / columns) * 20;
    out.push(`<rect x="${x}" y="${ly - 10}" width="12" height="12" fill="${chart.colors[name]}"/>`);
    out.push(`<text x="${x + 18}" y="${ly}">${escapeXml(name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
