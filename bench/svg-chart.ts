/**
 * A small SVG line chart for the bench scripts (a bench tool, not product code): one or more series of (x, y)
 * points, x on a log-10 axis when every x is positive and the points span a factor of 10 or more (partition and
 * connection counts), y linear from 0. Reads a JSON spec, writes one self-contained SVG file.
 *
 *   node --import tsx bench/svg-chart.ts SPEC.json OUT.svg
 *   SPEC: {"title": "...", "x": "partitions", "y": "records/s", "series": [{"name": "acks=1", "points": [[1, 5e5], ...]}]}
 */
import { readFileSync, writeFileSync } from 'node:fs';

interface Series {
  name: string;
  points: [number, number][];
}
interface Spec {
  title: string;
  x: string;
  y: string;
  series: Series[];
}

const W = 640;
const H = 360;
const L = 80;
const R = 170;
const T = 40;
const B = 50;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number): string =>
  Math.abs(v) >= 1e6
    ? `${+(v / 1e6).toFixed(2)}M`
    : Math.abs(v) >= 1e4
      ? `${+(v / 1e3).toFixed(1)}k`
      : `${+v.toFixed(v < 10 ? 2 : 0)}`;

export function chart(spec: Spec): string {
  const pts = spec.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xs = pts.map((p) => p[0]);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const log = xMin > 0 && xMax / xMin >= 10;
  const fx = (x: number): number => (log ? Math.log10(x) : x);
  const a = fx(xMin);
  const b = fx(xMax) === a ? a + 1 : fx(xMax);
  const yMax = Math.max(...pts.map((p) => p[1]), 0) * 1.1 || 1;
  const px = (x: number): number => L + ((fx(x) - a) / (b - a)) * (W - L - R);
  const py = (y: number): number => H - B - (y / yMax) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(spec.title)}</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">${esc(spec.x)}${log ? ' (log scale)' : ''}</text>`,
    `<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">${esc(spec.y)}</text>`,
  ];
  for (const x of [...new Set(xs)].sort((p, q) => p - q)) {
    out.push(`<line x1="${px(x)}" y1="${H - B}" x2="${px(x)}" y2="${H - B + 5}" stroke="black"/>`);
    out.push(`<text x="${px(x)}" y="${H - B + 18}" text-anchor="middle">${num(x)}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const y = (yMax / 1.1) * (i / 4);
    out.push(`<line x1="${L}" y1="${py(y)}" x2="${W - R}" y2="${py(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${py(y) + 4}" text-anchor="end">${num(y)}</text>`);
  }
  spec.series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((p, q) => p[0] - q[0]);
    if (ok.length > 0) {
      const d = ok.map(([x, y], j) => `${j === 0 ? 'M' : 'L'}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${c}" stroke-width="2"/>`);
      for (const [x, y] of ok)
        out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${c}"/>`);
    }
    const ly = T + 10 + i * 18;
    out.push(`<line x1="${W - R + 10}" y1="${ly}" x2="${W - R + 30}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${W - R + 36}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

if (process.argv[1]?.endsWith('svg-chart.ts')) {
  const [specPath, outPath] = process.argv.slice(2);
  if (!specPath || !outPath) {
    process.stderr.write('usage: node --import tsx bench/svg-chart.ts SPEC.json OUT.svg\n');
    process.exit(2);
  }
  writeFileSync(outPath, chart(JSON.parse(readFileSync(specPath, 'utf8')) as Spec));
}
