// Draws the soak run's samples as an SVG line chart: RSS (MB) and open file descriptors over time, faults marked.

export interface SoakChartInput {
  samples: { atS: number; rssMb: number; fds: number }[];
  faults: { atS: number; kind: string }[];
  title: string;
}

const W = 760;
const H = 300;
const PAD = { left: 56, right: 56, top: 36, bottom: 40 };

export function soakChart({ samples, faults, title }: SoakChartInput): string {
  const maxT = Math.max(1, ...samples.map((s) => s.atS));
  const maxRss = niceCeil(Math.max(1, ...samples.map((s) => s.rssMb)));
  const maxFds = niceCeil(Math.max(1, ...samples.map((s) => s.fds)));
  const x = (t: number) => PAD.left + (t / maxT) * (W - PAD.left - PAD.right);
  const yOf = (max: number) => (v: number) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const yRss = yOf(maxRss);
  const yFds = yOf(maxFds);
  const line = (y: (v: number) => number, pick: (s: SoakChartInput['samples'][number]) => number) =>
    samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(s.atS).toFixed(1)},${y(pick(s)).toFixed(1)}`).join(' ');
  const colour: Record<string, string> = {
    sigkill: '#c0392b',
    'broker-bounce': '#8e44ad',
    'app-exit': '#e67e22',
  };
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<title>${escapeXml(title)}: RSS and open file descriptors of the app over time</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="13">${escapeXml(title)}</text>`,
    ...ticks.map((f) => {
      const y = yRss(f * maxRss);
      return (
        `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#eee"/>` +
        `<text x="${PAD.left - 6}" y="${y + 4}" text-anchor="end" fill="#2471a3">${Math.round(f * maxRss)}</text>` +
        `<text x="${W - PAD.right + 6}" y="${y + 4}" fill="#1e8449">${Math.round(f * maxFds)}</text>`
      );
    }),
    ...ticks.map(
      (f) =>
        `<text x="${x(f * maxT)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${Math.round((f * maxT) / 60)} min</text>`,
    ),
    ...faults.map(
      (f) =>
        `<line x1="${x(f.atS)}" x2="${x(f.atS)}" y1="${PAD.top}" y2="${H - PAD.bottom}" stroke="${colour[f.kind] ?? '#999'}" stroke-dasharray="3,3" stroke-width="1"/>`,
    ),
    `<path d="${line(yRss, (s) => s.rssMb)}" fill="none" stroke="#2471a3" stroke-width="1.5"/>`,
    `<path d="${line(yFds, (s) => s.fds)}" fill="none" stroke="#1e8449" stroke-width="1.5"/>`,
    `<text x="${PAD.left}" y="${H - 8}" fill="#2471a3">RSS (MB, left)</text>`,
    `<text x="${PAD.left + 110}" y="${H - 8}" fill="#1e8449">open fds (right)</text>`,
    `<text x="${PAD.left + 220}" y="${H - 8}" fill="#c0392b">SIGKILL</text>`,
    `<text x="${PAD.left + 280}" y="${H - 8}" fill="#8e44ad">broker bounce</text>`,
    `<text x="${PAD.left + 370}" y="${H - 8}" fill="#e67e22">app exited by itself</text>`,
    '</svg>',
  ];
  return `${parts.join('\n')}\n`;
}

function niceCeil(v: number): number {
  const step = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / step) * step;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
