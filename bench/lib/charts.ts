/** Small charts for the report: Unicode bars for the Markdown page, and SVG files. */

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** Horizontal bars, one line per row: label, bar, value. */
export function hbars(rows: { label: string; value: number; note?: string }[], width = 40): string {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const labelWidth = Math.max(...rows.map((r) => r.label.length));
  return rows
    .map((r) => {
      const n = (r.value / max) * width;
      const full = Math.floor(n);
      const part = n - full > 0.5 ? '▌' : '';
      return `${r.label.padStart(labelWidth)} │${'█'.repeat(full)}${part}${' '.repeat(Math.max(0, width - full - part.length))} ${r.note ?? r.value}`;
    })
    .join('\n');
}

/** One line of block characters, scaled to the maximum. */
export function sparkline(values: number[]): string {
  const max = Math.max(1, ...values);
  return values.map((v) => (v <= 0 ? ' ' : BLOCKS[Math.min(7, Math.floor((v / max) * 7.999))])).join('');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A vertical bar chart as a standalone SVG document. */
export function svgBars(o: {
  title: string;
  xLabel: string;
  yLabel: string;
  labels: string[];
  values: number[];
  marker?: { index: number; text: string };
}): string {
  const w = 760;
  const h = 320;
  const left = 60;
  const right = 20;
  const top = 40;
  const bottom = 60;
  const plotW = w - left - right;
  const plotH = h - top - bottom;
  const max = Math.max(1, ...o.values);
  const bw = plotW / Math.max(1, o.values.length);
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="sans-serif" font-size="11">`,
  );
  parts.push(`<rect width="${w}" height="${h}" fill="white"/>`);
  parts.push(`<text x="${w / 2}" y="20" text-anchor="middle" font-size="14">${esc(o.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    parts.push(`<line x1="${left}" y1="${y}" x2="${w - right}" y2="${y}" stroke="#ddd"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end">${Math.round((max * i) / 4).toLocaleString('en-US')}</text>`,
    );
  }
  o.values.forEach((v, i) => {
    const bh = (v / max) * plotH;
    parts.push(
      `<rect x="${(left + i * bw + 1).toFixed(1)}" y="${(top + plotH - bh).toFixed(1)}" width="${Math.max(1, bw - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="#4a78b5"/>`,
    );
  });
  const every = Math.max(1, Math.ceil(o.labels.length / 12));
  o.labels.forEach((l, i) => {
    if (i % every !== 0) return;
    parts.push(
      `<text x="${(left + i * bw + bw / 2).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle">${esc(l)}</text>`,
    );
  });
  if (o.marker) {
    const x = left + o.marker.index * bw;
    parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + plotH}" stroke="#c0392b" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${x + 4}" y="${top + 12}" fill="#c0392b">${esc(o.marker.text)}</text>`);
  }
  parts.push(`<text x="${left + plotW / 2}" y="${h - 18}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  parts.push(
    `<text x="14" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">${esc(o.yLabel)}</text>`,
  );
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
