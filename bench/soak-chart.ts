// The soak's samples as a self-contained SVG (no fonts or scripts to fetch):
// four panels on one time axis, memory, event-loop delay p99, active handles
// and requests per second, with the load period shaded and, on the memory
// panel, the second from which growth is measured and the +10% line.
import { escapeXml } from './chart.ts';

export interface SoakSample {
  /** Seconds since sampling began. */
  second: number;
  phase: 'idle' | 'load' | 'cooldown';
  /** Seconds since the phase began. */
  phaseSecond: number;
  /** From /proc/<pid>/status. */
  rssBytes: number | undefined;
  /** The rest from the server's /metrics (prom-client default metrics). */
  rssMetricBytes: number | undefined;
  heapUsedBytes: number | undefined;
  heapTotalBytes: number | undefined;
  /** Memory of Buffers and other objects outside the V8 heap (cached response bodies are Buffers). */
  externalBytes: number | undefined;
  loopP99Ms: number | undefined;
  activeHandles: number | undefined;
  /** Requests the server counted since the previous sample. */
  rps: number | undefined;
  scraped: boolean;
}

export interface ChartOptions {
  subtitle: string;
  settleS: number;
  rssAtSettleBytes: number | undefined;
  rssGrowthLimit: number;
}

interface Series {
  label: string;
  color: string;
  values: (number | undefined)[];
}

interface Panel {
  title: string;
  series: Series[];
  format: (v: number) => string;
  /** A horizontal reference line. */
  reference?: { value: number; label: string };
}

const MB = 1024 * 1024;

/** The smallest axis maximum at or above `value` whose quarters are round numbers. */
function axisMax(value: number): number {
  const power = 10 ** Math.floor(Math.log10(Math.max(value, 1e-9)));
  return ([1, 2, 2.5, 4, 5, 8, 10].find((m) => m * power >= value) ?? 10) * power;
}

/** A path through the defined points, lifting the pen over missing ones. */
function linePath(points: [number, number | undefined][]): string {
  let path = '';
  let pen = false;
  for (const [x, y] of points) {
    if (y === undefined) {
      pen = false;
      continue;
    }
    path += `${pen ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  }
  return path;
}

export function renderSoakChart(samples: readonly SoakSample[], options: ChartOptions): string {
  const width = 860,
    left = 70,
    right = 20,
    top = 64,
    panelH = 120,
    gap = 44,
    bottom = 46;
  const plotW = width - left - right;
  const mbs = (v: number | undefined) => (v === undefined ? undefined : v / MB);
  const panels: Panel[] = [
    {
      title: 'Memory (MB): RSS from /proc, the rest from /metrics',
      series: [
        { label: 'RSS', color: '#1a73e8', values: samples.map((s) => mbs(s.rssBytes)) },
        { label: 'heap total', color: '#9aa0a6', values: samples.map((s) => mbs(s.heapTotalBytes)) },
        { label: 'heap used', color: '#e8710a', values: samples.map((s) => mbs(s.heapUsedBytes)) },
        { label: 'external', color: '#188038', values: samples.map((s) => mbs(s.externalBytes)) },
      ],
      format: (v) => v.toFixed(0),
      ...(options.rssAtSettleBytes === undefined
        ? {}
        : {
            reference: {
              value: (options.rssAtSettleBytes * (1 + options.rssGrowthLimit)) / MB,
              label: `+${options.rssGrowthLimit * 100}% of RSS at ${options.settleS} s of load`,
            },
          }),
    },
    {
      title: "Event-loop delay p99 per second (ms, as scraped: includes prom-client's 10 ms sampling timer)",
      series: [{ label: 'p99', color: '#d93025', values: samples.map((s) => s.loopP99Ms) }],
      format: (v) => v.toFixed(v < 10 ? 1 : 0),
    },
    {
      title: 'Active handles',
      series: [{ label: 'handles', color: '#188038', values: samples.map((s) => s.activeHandles) }],
      format: (v) => v.toFixed(0),
    },
    {
      title: 'Requests per second (counted by the server)',
      series: [{ label: 'req/s', color: '#9334e6', values: samples.map((s) => s.rps) }],
      format: (v) => (v >= 1000 ? `${Number((v / 1000).toFixed(1))}k` : v.toFixed(0)),
    },
  ];
  const height = top + panels.length * (panelH + gap) - gap + bottom;
  const lastSecond = Math.max(1, ...samples.map((s) => s.second));
  const x = (second: number) => left + (second / lastSecond) * plotW;
  const loadSamples = samples.filter((s) => s.phase === 'load');
  const loadFrom = loadSamples[0]?.second;
  const loadTo = loadSamples.at(-1)?.second;
  const settleAt = loadSamples.find((s) => s.phaseSecond >= options.settleS)?.second;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="16" font-weight="bold">ecadraft soak: one sample per second, load shaded</text>`,
    `<text x="${left}" y="40" fill="#555">${escapeXml(options.subtitle)}</text>`,
  ];
  panels.forEach((panel, i) => {
    const y0 = top + i * (panelH + gap);
    const all = panel.series.flatMap((s) => s.values).filter((v): v is number => v !== undefined);
    const max = axisMax(Math.max(1e-9, ...all, panel.reference?.value ?? 0) * 1.05);
    const y = (v: number) => y0 + panelH - (v / max) * panelH;
    parts.push(`<text x="${left}" y="${y0 - 8}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    if (loadFrom !== undefined && loadTo !== undefined) {
      parts.push(
        `<rect x="${x(loadFrom).toFixed(1)}" y="${y0}" width="${(x(loadTo) - x(loadFrom)).toFixed(1)}" height="${panelH}" fill="#e8f0fe"/>`,
      );
    }
    for (let k = 0; k <= 4; k++) {
      const v = (max / 4) * k;
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e0e0e0"/>`,
        `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" fill="#555">${panel.format(v)}</text>`,
      );
    }
    if (i === 0 && settleAt !== undefined) {
      parts.push(
        `<line x1="${x(settleAt).toFixed(1)}" x2="${x(settleAt).toFixed(1)}" y1="${y0}" y2="${y0 + panelH}" stroke="#555" stroke-dasharray="4 3"/>`,
        `<text x="${(x(settleAt) + 4).toFixed(1)}" y="${y0 + panelH - 6}" fill="#555" font-size="10">growth measured from here</text>`,
      );
    }
    if (panel.reference) {
      const ry = y(panel.reference.value).toFixed(1);
      parts.push(
        `<line x1="${left}" x2="${width - right}" y1="${ry}" y2="${ry}" stroke="#d93025" stroke-dasharray="6 4"/>`,
        `<text x="${width - right - 4}" y="${Number(ry) - 4}" text-anchor="end" fill="#d93025" font-size="10">${escapeXml(panel.reference.label)}</text>`,
      );
    }
    panel.series.forEach((series, j) => {
      const d = linePath(
        samples.map((s, n) => [x(s.second), series.values[n] === undefined ? undefined : y(series.values[n]!)]),
      );
      parts.push(`<path d="${d}" fill="none" stroke="${series.color}" stroke-width="2"/>`);
      if (panel.series.length > 1) {
        const lx = width - right - panel.series.length * 95 + j * 95;
        parts.push(
          `<rect x="${lx}" y="${y0 - 18}" width="10" height="10" fill="${series.color}"/>`,
          `<text x="${lx + 14}" y="${y0 - 9}">${escapeXml(series.label)}</text>`,
        );
      }
    });
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y0 + panelH}" y2="${y0 + panelH}" stroke="#333"/>`);
  });
  const axisY = top + panels.length * (panelH + gap) - gap;
  const step = lastSecond > 60 ? 10 : 5;
  for (let second = 0; second <= lastSecond; second += step) {
    parts.push(`<text x="${x(second).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#555">${second}</text>`);
  }
  parts.push(
    `<text x="${left + plotW / 2}" y="${axisY + 34}" text-anchor="middle" fill="#555">seconds since sampling began</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
