/**
 * The dashboard's panels as one SVG: each panel a small line chart of its queries' series, as Prometheus returned
 * them over a time range. For docs/operating.md's picture, drawn from a real drain (test/integration/observability).
 */
export interface PanelSeries {
  title: string;
  unit: string;
  series: { label: string; points: [number, number][] }[];
}

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];
const PANEL = { width: 300, height: 170, columns: 3, pad: 12 };
const PLOT = { left: 46, right: 8, top: 26, bottom: 34 };

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** 1234567 → 1.2M; small values keep two significant digits. */
function short(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${(value / 1e9).toFixed(1)}G`;
  if (abs >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return abs >= 10 || abs === 0 ? value.toFixed(0) : value.toPrecision(2);
}

function panel(data: PanelSeries, x: number, y: number): string {
  const all = data.series.flatMap((s) => s.points);
  const times = all.map(([t]) => t);
  const values = all.map(([, v]) => v).filter(Number.isFinite);
  const [t0, t1] = [Math.min(...times), Math.max(...times)];
  const top = Math.max(...values, 0) || 1;
  const w = PANEL.width - PLOT.left - PLOT.right;
  const h = PANEL.height - PLOT.top - PLOT.bottom;
  const px = (t: number) => x + PLOT.left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * w : 0);
  const py = (v: number) => y + PLOT.top + h - (v / top) * h;
  const lines = data.series.map((s, i) => {
    const d = s.points
      .filter(([, v]) => Number.isFinite(v))
      .map(([t, v], j) => `${j ? 'L' : 'M'}${px(t).toFixed(1)},${py(v).toFixed(1)}`)
      .join('');
    return `<path d="${d}" fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.5"/>`;
  });
  const shown = data.series.slice(0, 3);
  const slot = (PANEL.width - PLOT.left) / Math.max(shown.length, 1);
  const legend = shown.map(
    (s, i) =>
      `<text x="${x + PLOT.left + i * slot}" y="${y + PANEL.height - 8}" font-size="10" fill="${COLORS[i % COLORS.length]}">${escapeXml(s.label.slice(0, Math.floor(slot / 6)))}</text>`,
  );
  return [
    `<rect x="${x}" y="${y}" width="${PANEL.width - 4}" height="${PANEL.height - 4}" fill="#fff" stroke="#ccc"/>`,
    `<text x="${x + 8}" y="${y + 16}" font-size="12" font-weight="bold">${escapeXml(data.title)}</text>`,
    `<text x="${x + PANEL.width - 10}" y="${y + 16}" font-size="10" text-anchor="end" fill="#666">${escapeXml(data.unit)}</text>`,
    `<line x1="${x + PLOT.left}" y1="${y + PLOT.top + h}" x2="${x + PLOT.left + w}" y2="${y + PLOT.top + h}" stroke="#999"/>`,
    `<text x="${x + PLOT.left - 4}" y="${y + PLOT.top + 8}" font-size="10" text-anchor="end">${short(top)}</text>`,
    `<text x="${x + PLOT.left - 4}" y="${y + PLOT.top + h}" font-size="10" text-anchor="end">0</text>`,
    `<text x="${x + PLOT.left + w}" y="${y + PLOT.top + h + 12}" font-size="10" text-anchor="end" fill="#666">${Math.round(t1 - t0)} s</text>`,
    ...lines,
    ...legend,
  ].join('\n');
}

export function dashboardPicture(title: string, panels: PanelSeries[]): string {
  const rows = Math.ceil(panels.length / PANEL.columns);
  const width = PANEL.columns * PANEL.width + 2 * PANEL.pad;
  const height = rows * PANEL.height + 2 * PANEL.pad + 24;
  const body = panels.map((p, i) =>
    panel(
      p,
      PANEL.pad + (i % PANEL.columns) * PANEL.width,
      PANEL.pad + 24 + Math.floor(i / PANEL.columns) * PANEL.height,
    ),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="#f7f7f7"/>
<text x="${PANEL.pad}" y="${PANEL.pad + 12}" font-size="14" font-weight="bold">${escapeXml(title)}</text>
${body.join('\n')}
</svg>
`;
}
