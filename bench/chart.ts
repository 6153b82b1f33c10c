// req/s per scenario, ecadraft beside the ceiling and the baseline, as a
// self-contained SVG the README embeds (no fonts or scripts to fetch).
import { type HttpResults, SERVERS, type ServerName } from './http.ts';
import { SCENARIOS } from './scenarios.ts';

const COLORS: Record<ServerName, string> = { ceiling: '#9aa0a6', ecadraft: '#1a73e8', baseline: '#e8710a' };
const LEGEND: Record<ServerName, string> = {
  ceiling: 'ceiling: node:http, prebuilt bytes of (a)',
  ecadraft: 'ecadraft (npm start, defaults)',
  baseline: 'baseline: Fastify + response schema',
};

export const escapeXml = (text: string) => text.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
const kilo = (n: number) => (n >= 1000 ? `${Number((n / 1000).toFixed(n >= 10_000 ? 0 : 1))}k` : String(Math.round(n)));

/** The smallest axis maximum at or above `value` whose fifths are round numbers. */
function niceMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(value, 1)));
  return ([1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].find((m) => m * power >= value) ?? 10) * power;
}

export function renderChart(http: HttpResults, subtitle: string): string {
  const width = 860,
    height = 420;
  const left = 64,
    right = 16,
    top = 78,
    bottom = 84;
  const plotW = width - left - right,
    plotH = height - top - bottom;
  const rps = (scenario: string, server: ServerName) =>
    http.rows.find((r) => r.scenario === scenario && r.server === server);
  const max = niceMax(Math.max(...http.rows.map((r) => r.rps ?? 0)) * 1.08);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const group = plotW / SCENARIOS.length;
  const barW = (group * 0.72) / SERVERS.length;
  // Ceiling first, so each of our bars stands right beside the limit it is measured against.
  const order: ServerName[] = ['ceiling', 'ecadraft', 'baseline'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="16" font-weight="bold">Requests per second by scenario (median of ${http.plan.rounds} rounds)</text>`,
    `<text x="${left}" y="40" fill="#555">${escapeXml(subtitle)}</text>`,
  ];
  order.forEach((server, i) => {
    const x = left + i * 270;
    parts.push(
      `<rect x="${x}" y="52" width="12" height="12" fill="${COLORS[server]}"/>`,
      `<text x="${x + 17}" y="62">${escapeXml(LEGEND[server])}</text>`,
    );
  });
  for (let k = 0; k <= 5; k++) {
    const v = (max / 5) * k;
    parts.push(
      `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#e0e0e0"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${kilo(v)}</text>`,
    );
  }
  SCENARIOS.forEach((scenario, s) => {
    const x0 = left + s * group + group * 0.14;
    order.forEach((server, i) => {
      const value = rps(scenario.id, server)?.rps ?? 0;
      const x = x0 + i * barW;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${(barW - 3).toFixed(1)}" height="${(top + plotH - y(value)).toFixed(1)}" fill="${COLORS[server]}"/>`,
        `<text x="${(x + (barW - 3) / 2).toFixed(1)}" y="${(y(value) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${kilo(value)}</text>`,
      );
    });
    const cx = (left + s * group + group / 2).toFixed(1);
    const ratio = rps(scenario.id, 'ecadraft')?.vsCeiling;
    parts.push(
      `<text x="${cx}" y="${top + plotH + 18}" text-anchor="middle" font-weight="bold">(${scenario.id}) ${escapeXml(scenario.label)}</text>`,
      `<text x="${cx}" y="${top + plotH + 34}" text-anchor="middle" fill="${COLORS.ecadraft}">${ratio === undefined ? '' : `${ratio.toFixed(2)}x ceiling`}</text>`,
    );
  });
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`,
    `<text x="${left}" y="${height - 14}" fill="#555">ecadraft's ratio to the ceiling is the median of per-round ratios. Same machine, same autocannon settings, servers alternated.</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
